"""Signatures libblkid learnt after 2.38: bcachefs, Apple Core Storage (FileVault 2),
ScoutFS and OpenSVC heartbeat devices, and bcache told apart from bcachefs.

Old bcachefs volumes carry bcache's magic number at the same place, so a bcache superblock
is only named bcache when it says it was written where it is (blkid's check; libblkid from
2.39 also verifies its CRC-64). The checks are newer libblkid's: magic, the fields next to
it and, where it verifies one, the CRC-32C. No libblkid on Debian 12 knows these kinds, so
their tests rest on the format facts alone.

Reads only the volume's first 68 KiB (given by the caller); interprets nothing beyond the
fields it checks.
"""

from __future__ import annotations

import struct

import google_crc32c

from vmguard.disk.fskind import FsKind
from vmguard.disk.source import ByteSource

_BCACHE_SB = 4096
_BCACHE_MAGIC = bytes.fromhex("c68573f64e1a45ca8265f57f48ba6d81")
_BCACHEFS_MAGIC = bytes.fromhex("c68573f666ce90a9d96a60cf803df7ef")
_BCACHEFS_FIELDS_AT = 752
"""Where a bcachefs superblock's variable fields start (after its 512-byte layout)."""
_BCACHEFS_MAX_SB = 4096


def bcache_kind(source: ByteSource, head: bytes) -> FsKind:
    """``bcache``, ``bcachefs`` or "" from the superblock at 4 KiB."""
    sb = head[_BCACHE_SB : _BCACHE_SB + _BCACHEFS_FIELDS_AT]
    if len(sb) < _BCACHEFS_FIELDS_AT or sb[24:40] not in (_BCACHE_MAGIC, _BCACHEFS_MAGIC):
        return FsKind.UNKNOWN
    if sb[24:40] == _BCACHE_MAGIC and struct.unpack_from("<Q", sb, 8)[0] == _BCACHE_SB // 512:
        return FsKind.BCACHE if source.size >= 8192 else FsKind.UNKNOWN
    (offset,) = struct.unpack_from("<Q", sb, 104)
    dev_idx, nr_devices, u64s = struct.unpack_from("<BBI", sb, 122)
    if (
        source.size < 256 * 512
        or offset != _BCACHE_SB // 512
        or not dev_idx < nr_devices
        or _BCACHEFS_FIELDS_AT + 8 * u64s > _BCACHEFS_MAX_SB
    ):
        return FsKind.UNKNOWN
    return FsKind.BCACHEFS


def _crc32c_raw(seed: int, data: bytes) -> int:
    """CRC-32C from ``seed`` without the final inversion (util-linux's ``crc32c``)."""
    return int(google_crc32c.extend(seed ^ 0xFFFFFFFF, data)) ^ 0xFFFFFFFF


def _is_cs_fvault2(source: ByteSource, head: bytes) -> bool:
    """A Core Storage physical volume header of FileVault 2: "CS" at 88, version 1, CRC-32C
    (with the seed it stores) over the rest of its 512 bytes, block type 0x10, a 16-byte
    AES-XTS key."""
    sb = head[:512]
    if len(sb) < 512 or sb[88:90] != b"CS":
        return False
    value, seed, version, block_type = struct.unpack_from("<IIHH", sb)
    (algorithm,) = struct.unpack_from("<I", sb, 90)
    key_size, cipher = struct.unpack_from("<II", sb, 168)
    return (
        version == 1
        and algorithm == 1
        and _crc32c_raw(seed, sb[8:]) == value
        and (block_type, key_size, cipher) == (0x10, 16, 2)
    )


_SCOUTFS_SB = 64 * 1024
_SCOUTFS_MAGIC = b"\x8b\x42\x3c\x10"


def _scoutfs_kind(source: ByteSource, head: bytes) -> FsKind:
    """``scoutfs_meta`` or ``scoutfs_data``: the superblock at 64 KiB with its CRC-32C; the
    metadata device's flag tells the two apart."""
    block = head[_SCOUTFS_SB : _SCOUTFS_SB + 4096]
    if source.size < 0x20000 or len(block) < 4096 or block[4:8] != _SCOUTFS_MAGIC:
        return FsKind.UNKNOWN
    if _crc32c_raw(0xFFFFFFFF, block[4:]) != int.from_bytes(block[:4], "little"):
        return FsKind.UNKNOWN
    (flags,) = struct.unpack_from("<Q", block, 48)
    return FsKind.SCOUTFS_META if flags & 1 else FsKind.SCOUTFS_DATA


_OPENSVC_MAGIC = b"\x3d\xc1\x3c\x87\xc0\x5b\xe3\xb6"


def _is_opensvc_hb(source: ByteSource, head: bytes) -> bool:
    """An OpenSVC heartbeat device: magic at 4, CRC-32C of the 36-byte header (CRC field
    zeroed), version 1, a power-of-two page size from 512 bytes to 64 KiB."""
    header = head[:36]
    if len(header) < 36 or header[4:12] != _OPENSVC_MAGIC:
        return False
    crc, version, page_size = struct.unpack_from("<I8xII", header)
    return bool(
        google_crc32c.value(bytes(4) + header[4:]) == crc
        and version == 1
        and 512 <= page_size <= 64 * 1024
        and page_size & (page_size - 1) == 0
    )


def recent_volume_kind(source: ByteSource, head: bytes) -> FsKind:
    """The blkid TYPE of a Core Storage, ScoutFS or OpenSVC heartbeat volume, or ""."""
    if _is_cs_fvault2(source, head):
        return FsKind.CS_FVAULT2
    scoutfs = _scoutfs_kind(source, head)
    if scoutfs:
        return scoutfs
    return FsKind.OPENSVC_HB if _is_opensvc_hb(source, head) else FsKind.UNKNOWN
