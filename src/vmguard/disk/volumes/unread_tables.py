"""Partition tables vmguard recognises but does not read: Amiga rigid disk blocks and Atari
AHDI root sectors.

Naming them lets a scan say "this disk has an Atari partition table" instead of "unsupported
filesystem" for the whole disk. The checks are blkid's kind (magic plus checksum or sanity
of the entries), so a bare filesystem is not mistaken for a table.

This module only reads the first 16 sectors and never returns partitions.
"""

from __future__ import annotations

import struct

from vmguard.disk.source import ByteSource

_ATARI_IDS = frozenset(
    {b"BGM", b"GEM", b"XGM", b"LNX", b"SWP", b"MIX", b"RAW", b"UNX", b"F32", b"MAC", b"MNX"}
)
_RDB_SEARCH_BLOCKS = 16


def name_unread_table(disk: ByteSource, sector0: bytes) -> tuple[str, str] | None:
    """``(scheme, description)`` of a partition table vmguard does not read, or None
    (``sector0``: the disk's first 512 bytes, already read by the caller)."""
    if len(sector0) < 512:
        return None
    if _is_atari(sector0, disk.size):
        return "atari", "Atari AHDI partition table"
    for block in range(_RDB_SEARCH_BLOCKS):
        if disk.read_at(block * 512, 4) == b"RDSK":
            return "amiga", "Amiga rigid disk block"
    return None


def _is_atari(sector: bytes, disk_size: int) -> bool:
    """An AHDI root sector: a disk size that fits, and a first entry in use with a known id
    that lies on the disk."""
    disk_sectors = struct.unpack_from(">I", sector, 0x1C2)[0]
    if disk_sectors == 0 or disk_sectors * 512 > disk_size:
        return False
    flag, ident, start, size = struct.unpack_from(">B3sII", sector, 0x1C6)
    return bool(flag & 1) and ident in _ATARI_IDS and start > 0 and start + size <= disk_sectors
