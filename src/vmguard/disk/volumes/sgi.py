"""SGI disk volume headers (dvh): the partition table of IRIX disks and MIPS Linux.

One 512-byte big-endian sector: magic 0x0BE5A941 at byte 0, a sum of its 32-bit words that
comes to zero, and sixteen partitions at 312 as (block count, first block, type), in
512-byte blocks. Partitions keep their slot number (1-16), as blkid numbers them; the volume
header (type 0), the track and sector replacement areas (1, 2) and the entry for the whole
volume (6) hold no filesystem and are not returned.

This module must never read beyond the first sector, return a partition outside the disk,
or let a malformed header escape as anything but a recorded ``Problem``.
"""

from __future__ import annotations

import struct

from vmguard.disk.source import ByteSource
from vmguard.disk.volumes.interface import Volume, VolumeLayout
from vmguard.disk.volumes.mbr import partition_source
from vmguard.problems import Problem

MAGIC = 0x0BE5A941
NOT_DATA_TYPES = frozenset({0, 1, 2, 6})
_SLOTS = 16


def is_sgi_label(sector: bytes) -> bool:
    """True when ``sector`` (the disk's first) has the SGI magic and a zero word sum."""
    if len(sector) < 512 or struct.unpack_from(">I", sector, 0)[0] != MAGIC:
        return False
    total: int = sum(w for (w,) in struct.iter_unpack(">I", sector[:512]))
    return total & 0xFFFFFFFF == 0


def read_sgi(disk: ByteSource, sector: bytes) -> VolumeLayout:
    """The partitions of the SGI volume header in ``sector`` (see the module docstring)."""
    problems: list[Problem] = []
    volumes: list[Volume] = []
    for slot in range(_SLOTS):
        blocks, first, kind = struct.unpack_from(">III", sector, 312 + 12 * slot)
        if blocks == 0 or kind in NOT_DATA_TYPES:
            continue
        number, start = slot + 1, first * 512
        found = partition_source(disk, start, blocks * 512, f"sgi partition {number}", problems)
        if found is not None:
            source, size = found
            volumes.append(Volume(number, "sgi", start, size, source, type_id=f"{kind:02x}"))
    return VolumeLayout("sgi", tuple(volumes), tuple(problems))
