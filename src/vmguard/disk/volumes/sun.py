"""Sun disk labels (VTOC): the partition table of Solaris and SPARC Linux disks.

One 512-byte big-endian sector: magic 0xDABE at byte 508, an XOR checksum over the sector
that comes to zero, the geometry (tracks per cylinder at 436, sectors per track at 438) and
eight partitions at 444 as (start cylinder, sector count). A valid VTOC (sanity 0x600DDEEE
at 188) gives each partition a tag at 142; the whole-disk entry (tag 5, usually partition
3) is skipped, as blkid does. Partitions keep their slot number (1-8).

This module must never read beyond the first sector, return a partition outside the disk,
or let a malformed label escape as anything but a recorded ``Problem``.
"""

from __future__ import annotations

import struct

from vmguard.disk.source import ByteSource
from vmguard.disk.volumes.interface import Volume, VolumeLayout
from vmguard.disk.volumes.mbr import partition_source
from vmguard.problems import Problem

MAGIC = 0xDABE
_VTOC_SANITY = 0x600DDEEE
_WHOLE_DISK_TAG = 5
_SLOTS = 8


def is_sun_label(sector: bytes) -> bool:
    """True when ``sector`` (the disk's first) has the Sun magic and a zero checksum."""
    if len(sector) < 512 or struct.unpack_from(">H", sector, 508)[0] != MAGIC:
        return False
    checksum = 0
    for (word,) in struct.iter_unpack(">H", sector[:512]):
        checksum ^= word
    return checksum == 0


def read_sun(disk: ByteSource, sector: bytes) -> VolumeLayout:
    """The partitions of the Sun label in ``sector`` (see the module docstring)."""
    tracks, per_track = struct.unpack_from(">HH", sector, 436)
    per_cylinder = tracks * per_track
    with_vtoc = struct.unpack_from(">I", sector, 188)[0] == _VTOC_SANITY
    problems: list[Problem] = []
    volumes: list[Volume] = []
    for slot in range(_SLOTS):
        cylinder, sectors = struct.unpack_from(">II", sector, 444 + 8 * slot)
        tag = struct.unpack_from(">H", sector, 142 + 4 * slot)[0] if with_vtoc else 0
        if sectors == 0 or tag == _WHOLE_DISK_TAG:
            continue
        number, start = slot + 1, cylinder * per_cylinder * 512
        where = f"sun partition {number}"
        found = partition_source(disk, start, sectors * 512, where, problems)
        if found is not None:
            source, size = found
            volumes.append(Volume(number, "sun", start, size, source, type_id=f"{tag:02x}"))
    return VolumeLayout("sun", tuple(volumes), tuple(problems))
