"""Checksums of btrfs superblocks and tree blocks: crc32c, xxhash64, sha256, blake2b.

Only metadata (4 KiB superblocks, tree blocks) is checked here; file data checksums are
not verified (a read gives the bytes as stored, like the other filesystem readers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import google_crc32c
import xxhash

from vmguard.disk.errors import CorruptImage

CSUM_SIZE = 32
"""Bytes reserved for the checksum at the start of every superblock and tree block."""


def _crc32c(data: bytes) -> bytes:
    return int(google_crc32c.value(data)).to_bytes(4, "little")


def _xxhash64(data: bytes) -> bytes:
    return int(xxhash.xxh64_intdigest(data)).to_bytes(8, "little")


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _blake2b(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


_ALGORITHMS: dict[int, tuple[str, Callable[[bytes], bytes]]] = {
    0: ("crc32c", _crc32c),
    1: ("xxhash64", _xxhash64),
    2: ("sha256", _sha256),
    3: ("blake2b", _blake2b),
}


def checksum_name(csum_type: int) -> str:
    """The algorithm's name; ``CorruptImage`` for a type btrfs does not define."""
    found = _ALGORITHMS.get(csum_type)
    if found is None:
        raise CorruptImage(f"btrfs superblock names unknown checksum type {csum_type}")
    return found[0]


def checksum_matches(block: bytes, csum_type: int) -> bool:
    """Whether the checksum stored in ``block``'s first bytes covers the rest of it."""
    found = _ALGORITHMS.get(csum_type)
    if found is None:
        return False
    digest = found[1](block[CSUM_SIZE:])
    return block[: len(digest)] == digest
