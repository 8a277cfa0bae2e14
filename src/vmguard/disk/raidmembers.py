"""RAID and replication members named by the metadata they keep near a device's end.

Firmware ("fake") RAID controllers — Intel Matrix/RST, SNIA DDF, LSI MegaRAID, VIA, Silicon
Image Medley, NVIDIA MediaShield, Promise FastTrak, HighPoint, Adaptec, JMicron — write their
array metadata into the last sectors of each whole member disk (HighPoint 37x near its start).
Such a disk is one piece of an array: a striped member's partition table describes the
array, not the disk, so the disk is named by blkid's TYPE and its partitions are not read as
if it stood alone. DRBD keeps its internal metadata in the last 4 KiB of the device it
replicates, which otherwise shows the replicated filesystem at offset 0.

The checks, sizes and their order are those of util-linux's libblkid (firmware RAIDs are
probed only on whole disks, never on a device of 1440 KiB or less). Each check reads at most
512 bytes at a few fixed places: nothing else of the device is read or interpreted.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from vmguard.disk.fskind import FsKind
from vmguard.disk.source import ByteSource

_SECTOR = 512
_TINY_BYTES = 1440 * 1024
"""blkid's floppy bound: no RAID is looked for on a device this small or smaller."""


def _sector_from_end(disk: ByteSource, count: int, length: int = _SECTOR) -> bytes:
    """``length`` bytes at the start of the ``count``-th sector from the end."""
    return disk.read_at((disk.size // _SECTOR - count) * _SECTOR, length)


_DDF_MAGIC = 0xDE11DE11
_DDF_PRIMARY_LBA_AT = 96


def _is_ddf(disk: ByteSource) -> bool:
    """A SNIA DDF anchor header (either byte order) in the last sector or 257 sectors from
    the end; when it names a primary header, the same signature must be there."""
    if disk.size < 0x30000:
        return False
    for count in (1, 257):
        header = _sector_from_end(disk, count, _DDF_PRIMARY_LBA_AT + 8)
        if len(header) < _DDF_PRIMARY_LBA_AT + 8:
            return False
        for order in "><":
            if struct.unpack_from(order + "I", header)[0] != _DDF_MAGIC:
                continue
            (primary,) = struct.unpack_from(order + "Q", header, _DDF_PRIMARY_LBA_AT)
            return primary == 0 or disk.read_at(primary * _SECTOR, 4) == header[:4]
    return False


def _is_isw(disk: ByteSource) -> bool:
    return _sector_from_end(disk, 2, 24) == b"Intel Raid ISM Cfg Sig. "


def _is_lsi(disk: ByteSource) -> bool:
    return _sector_from_end(disk, 1, 6) == b"$XIDE$"


def _is_via(disk: ByteSource) -> bool:
    """Signature 0xAA55, version 0-2 and an 8-bit sum of the first 50 bytes."""
    meta = _sector_from_end(disk, 1, 51)
    return (
        len(meta) == 51
        and meta[:2] == b"\x55\xaa"
        and meta[2] <= 2
        and sum(meta[:50]) & 0xFF == meta[50]
    )


_SILICON_MAGIC = 0x2F000000
_SILICON_CHECKSUM_AT = 0x13E


def _is_silicon_medley(disk: ByteSource) -> bool:
    """Magic at 0x60, a disk number below 8, and the 16-bit words before the checksum
    summing to its negation."""
    meta = _sector_from_end(disk, 1)
    if len(meta) < _SECTOR or struct.unpack_from("<I", meta, 0x60)[0] != _SILICON_MAGIC:
        return False
    if meta[0x116] >= 8:
        return False
    words = struct.unpack_from(f"<{_SILICON_CHECKSUM_AT // 2}H", meta)
    (stored,) = struct.unpack_from("<H", meta, _SILICON_CHECKSUM_AT)
    return bool(-sum(words) & 0xFFFF == stored)


def _is_nvidia(disk: ByteSource) -> bool:
    return _sector_from_end(disk, 2, 6) == b"NVIDIA"


_PROMISE_SECTORS = (63, 255, 256, 16, 399, 591, 675, 735, 911, 974, 991, 951, 3087)
"""Where FastTrak BIOSes of each generation put their configuration, counted from the end."""


def _is_promise(disk: ByteSource) -> bool:
    if disk.size < 0x40000:
        return False
    for count in _PROMISE_SECTORS:
        if count * _SECTOR > disk.size:  # blkid stops at the first place off the disk
            return False
        if _sector_from_end(disk, count, 24) == b"Promise Technology, Inc.":
            return True
    return False


_HPT45X_MAGICS = frozenset({0x5A7816F3, 0x5A7816FD})
_HPT37X_MAGICS = frozenset({0x5A7816F0, 0x5A7816FD})
"""HighPoint's "good" and "bad" metadata magic numbers (little-endian)."""


def _is_hpt45x(disk: ByteSource) -> bool:
    raw = _sector_from_end(disk, 11, 4)
    return len(raw) == 4 and int.from_bytes(raw, "little") in _HPT45X_MAGICS


def _is_hpt37x(disk: ByteSource) -> bool:
    """A HighPoint 37x superblock: 9 sectors in, magic 32 bytes into it."""
    raw = disk.read_at(9 * _SECTOR + 32, 4)
    return len(raw) == 4 and int.from_bytes(raw, "little") in _HPT37X_MAGICS


def _is_adaptec(disk: ByteSource) -> bool:
    meta = _sector_from_end(disk, 1, 260)
    return len(meta) == 260 and meta[:4] == b"\x37\xfc\x4d\x1e" and meta[256:260] == b"DPTM"


def _is_jmicron(disk: ByteSource) -> bool:
    return _sector_from_end(disk, 1, 2) == b"JM"


_FIRMWARE_RAIDS: tuple[tuple[Callable[[ByteSource], bool], FsKind], ...] = (
    (_is_ddf, FsKind.DDF_RAID_MEMBER),
    (_is_isw, FsKind.ISW_RAID_MEMBER),
    (_is_lsi, FsKind.LSI_MEGA_RAID_MEMBER),
    (_is_via, FsKind.VIA_RAID_MEMBER),
    (_is_silicon_medley, FsKind.SILICON_MEDLEY_RAID_MEMBER),
    (_is_nvidia, FsKind.NVIDIA_RAID_MEMBER),
    (_is_promise, FsKind.PROMISE_FASTTRACK_RAID_MEMBER),
    (_is_hpt45x, FsKind.HPT45X_RAID_MEMBER),
    (_is_hpt37x, FsKind.HPT37X_RAID_MEMBER),
    (_is_adaptec, FsKind.ADAPTEC_RAID_MEMBER),
    (_is_jmicron, FsKind.JMICRON_RAID_MEMBER),
)
"""In blkid's order: the first that matches names the disk."""


def firmware_raid_kind(disk: ByteSource) -> FsKind:
    """The blkid TYPE of a whole disk that carries firmware RAID metadata, or ""."""
    if disk.size <= _TINY_BYTES:
        return FsKind.UNKNOWN
    for matches, kind in _FIRMWARE_RAIDS:
        if matches(disk):
            return kind
    return FsKind.UNKNOWN


_DRBD_MAGICS = frozenset({0x8374026B, 0x8374026C, 0x8374026D})
"""DRBD 8 metadata (clean, 8.4 unclean) and DRBD 9 metadata."""
_DRBD_MD_BYTES = 4096
_DRBD_MAGIC_AT = 60


def is_drbd(source: ByteSource) -> bool:
    """DRBD internal metadata (8 or 9) in the device's last 4 KiB (a RAID kind to blkid:
    not looked for on a device of 1440 KiB or less)."""
    if source.size <= _TINY_BYTES:
        return False
    raw = source.read_at(source.size - _DRBD_MD_BYTES + _DRBD_MAGIC_AT, 4)
    return len(raw) == 4 and int.from_bytes(raw, "big") in _DRBD_MAGICS
