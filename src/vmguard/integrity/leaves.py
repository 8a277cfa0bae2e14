"""Chunk hashes stored sparsely: only chunks that are not all zeros take memory or space.

A disk of N chunks is ``Leaves(count=N, default=<leaf of an all-zero chunk>, ...)`` plus the
sorted indexes and hashes of every other chunk, so a 100 GB disk holding 1 GB of data costs
what 1 GB costs (40 bytes per 64 KiB chunk of data), in memory, in the manifest and in the
Merkle root computation (complete all-zero subtrees have one precomputed hash per level).

Decoding is bounded: at most ``count`` entries, strictly increasing indexes below
``count``, and zlib output capped at the size those entries can take. Nothing here does I/O.
"""

from __future__ import annotations

import base64
import bisect
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field

import blake3

from vmguard.integrity.errors import EnvelopeMalformed

DIGEST_SIZE = 32
_ENTRY = 8 + DIGEST_SIZE
_NODE = b"\x01"


def node_hash(left: bytes, right: bytes) -> bytes:
    """An inner node of the Merkle tree."""
    return blake3.blake3(_NODE + left + right).digest()


@dataclass(frozen=True, slots=True)
class Leaves:
    """``count`` chunk hashes: ``default`` except at ``indexes`` (ascending)."""

    count: int
    default: bytes
    """The leaf of a full all-zero chunk."""
    indexes: array[int] = field(repr=False)
    hashes: bytes = field(repr=False)
    """Concatenated 32-byte leaves for ``indexes``, in order."""

    def __post_init__(self) -> None:
        if len(self.hashes) != len(self.indexes) * DIGEST_SIZE:
            raise ValueError("indexes and hashes disagree")

    def get(self, index: int) -> bytes:
        """The leaf of chunk ``index``."""
        at = bisect.bisect_left(self.indexes, index)
        if at < len(self.indexes) and self.indexes[at] == index:
            return self.hashes[at * DIGEST_SIZE : (at + 1) * DIGEST_SIZE]
        return self.default

    def explicit(self) -> Iterator[tuple[int, bytes]]:
        """(index, leaf) of every chunk whose leaf is not ``default``."""
        for at, index in enumerate(self.indexes):
            yield index, self.hashes[at * DIGEST_SIZE : (at + 1) * DIGEST_SIZE]

    def dense(self) -> bytes:
        """Every leaf, concatenated (for small disks and tests)."""
        out = bytearray(self.default * self.count)
        for index, leaf in self.explicit():
            out[index * DIGEST_SIZE : (index + 1) * DIGEST_SIZE] = leaf
        return bytes(out)

    def root(self) -> bytes:
        """The Merkle root: levels paired bottom up, an odd last node moving up unchanged.

        Implicit nodes are always complete all-zero subtrees (one hash per level), so the
        work and memory follow the explicit leaves, not the disk size.
        """
        if self.count == 0:
            return blake3.blake3(b"").digest()
        count, default = self.count, self.default
        indexes, hashes = self.indexes, self.hashes
        n = DIGEST_SIZE
        while count > 1:
            up_indexes: array[int] = array("Q")
            up_hashes = bytearray()
            last, odd = count - 1, count % 2
            i, total = 0, len(indexes)
            while i < total:
                index, value = indexes[i], hashes[i * n : (i + 1) * n]
                if index == last and odd:  # promoted unchanged
                    parent = value
                elif index % 2 == 0:
                    partner = default
                    if i + 1 < total and indexes[i + 1] == index + 1:
                        i += 1
                        partner = hashes[i * n : (i + 1) * n]
                    parent = node_hash(value, partner)
                else:
                    parent = node_hash(default, value)
                up_indexes.append(index // 2)
                up_hashes += parent
                i += 1
            new_count = (count + 1) // 2
            if odd and (not up_indexes or up_indexes[-1] != new_count - 1):
                # An implicit last node moves up: it is no longer a complete subtree.
                up_indexes.append(new_count - 1)
                up_hashes += default
            indexes, hashes = up_indexes, bytes(up_hashes)
            count, default = new_count, node_hash(default, default)
        return hashes[:n] if indexes else default

    def encode(self) -> str:
        """base64(zlib(u64be index || leaf, for each explicit chunk))."""
        packer = zlib.compressobj(6)
        parts = []
        for index, leaf in self.explicit():
            parts.append(packer.compress(index.to_bytes(8, "big") + leaf))
        parts.append(packer.flush())
        return base64.b64encode(b"".join(parts)).decode("ascii")

    @classmethod
    def decode(cls, text: str, count: int, default: bytes, max_count: int) -> Leaves:
        """Inverse of ``encode``, bounded by ``count`` (itself at most ``max_count``)."""
        if count < 0 or count > max_count:
            raise EnvelopeMalformed(f"chunk count {count} out of range")
        try:
            packed = base64.b64decode(text, validate=True)
            inflater = zlib.decompressobj()
            raw = inflater.decompress(packed, count * _ENTRY + 1)
        except (ValueError, zlib.error) as err:
            raise EnvelopeMalformed(f"chunk hashes cannot be decoded: {err}") from err
        if len(raw) > count * _ENTRY or inflater.unconsumed_tail or not inflater.eof:
            raise EnvelopeMalformed(f"chunk hashes hold more than {count} chunks")
        if len(raw) % _ENTRY:
            raise EnvelopeMalformed("chunk hashes are not whole entries")
        indexes: array[int] = array("Q")
        hashes = bytearray()
        previous = -1
        for at in range(0, len(raw), _ENTRY):
            index = int.from_bytes(raw[at : at + 8], "big")
            if index <= previous or index >= count:
                raise EnvelopeMalformed("chunk hash indexes not increasing within the disk")
            indexes.append(index)
            hashes += raw[at + 8 : at + _ENTRY]
            previous = index
        return cls(count, default, indexes, bytes(hashes))


class LeavesBuilder:
    """Collects leaves in chunk order, keeping only those that differ from ``default``."""

    def __init__(self, default: bytes) -> None:
        self.default = default
        self.count = 0
        self.indexes: array[int] = array("Q")
        self.hashes = bytearray()

    def add(self, leaf: bytes) -> None:
        """The next chunk's leaf."""
        if leaf != self.default:
            self.indexes.append(self.count)
            self.hashes += leaf
        self.count += 1

    def skip_defaults(self, n: int) -> None:
        """The next ``n`` chunks are full all-zero chunks."""
        self.count += n

    def build(self) -> Leaves:
        """The collected leaves."""
        return Leaves(self.count, self.default, self.indexes, bytes(self.hashes))
