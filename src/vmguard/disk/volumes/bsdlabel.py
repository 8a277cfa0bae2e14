"""BSD disklabels: the partition table of FreeBSD, NetBSD and OpenBSD disks.

A label is 148 bytes of geometry followed by up to 16 partition entries of 16 bytes
(size, offset, fragment size, filesystem type, ...), little-endian, with the magic
0x82564557 at its start and again at offset 132. It sits at byte 512 of the disk or of an
MBR slice (i386, amd64), or at byte 64 (what parted and Alpha write). Inside an MBR slice of
type FreeBSD (0xA5), OpenBSD (0xA6) or NetBSD (0xA9), offsets are sectors from the start of
the disk, except in FreeBSD 10 and later labels, which count from the slice: those have at
least three entries and the whole-slice entry "c" (the third) at offset 0 (blkid's rule).
Entries with no size or the "unused" type are skipped, and so are the entry that covers the
whole slice (partition "c") and entries outside the slice, as Linux does; the rest are
numbered in order, after the MBR's own partitions.

This module must never read past the 16 entries a label can hold, return a partition outside
the disk or the slice it describes, or let a malformed label escape as anything but a
recorded ``Problem``.
"""

from __future__ import annotations

import struct

from vmguard.disk.source import ByteSource
from vmguard.disk.volumes.interface import Volume
from vmguard.disk.volumes.mbr import partition_source
from vmguard.problems import Problem, Stage

MAGIC = 0x82564557
LABEL_OFFSETS = (512, 64)
MBR_SLICE_TYPES = frozenset({0xA5, 0xA6, 0xA9})
"""FreeBSD, OpenBSD and NetBSD slices: each may hold a disklabel."""
MBR_SLICE_TYPE_IDS = frozenset(f"{t:02x}" for t in MBR_SLICE_TYPES)
"""The same, as ``Volume.type_id`` spells MBR types."""
MAX_PARTITIONS = 16
_HEADER = 148
_ENTRY = struct.Struct("<IIIBBH")
_UNUSED = 0


def find_label(source: ByteSource) -> bytes | None:
    """The label's bytes (header and every entry it may hold), or None if there is none."""
    for offset in LABEL_OFFSETS:
        raw = source.read_at(offset, _HEADER + MAX_PARTITIONS * _ENTRY.size)
        if len(raw) >= _HEADER and _magics(raw) == (MAGIC, MAGIC):
            return raw
    return None


def _magics(raw: bytes) -> tuple[int, int]:
    return struct.unpack_from("<I", raw, 0)[0], struct.unpack_from("<I", raw, 132)[0]


def read_label(
    disk: ByteSource,
    label: bytes,
    *,
    slice_start: int = 0,
    slice_size: int | None = None,
    first_index: int = 1,
    problems: list[Problem],
) -> list[Volume]:
    """The partitions ``label`` lists; offsets in sectors of 512 bytes, as Linux reads them.

    ``slice_start``/``slice_size`` (in bytes) bound a label found inside an MBR slice.
    """
    count = struct.unpack_from("<H", label, 138)[0]
    if count > MAX_PARTITIONS:
        problems.append(
            Problem(Stage.VOLUMES, "bsd", f"label claims {count} partitions; read {MAX_PARTITIONS}")
        )
        count = MAX_PARTITIONS
    count = min(count, (len(label) - _HEADER) // _ENTRY.size)
    end = disk.size if slice_size is None else slice_start + slice_size
    relative = slice_size is not None and count >= 3 and _entry(label, 2)[1] == 0
    volumes: list[Volume] = []
    index = first_index
    for slot in range(count):
        sectors, offset, _, fstype, _, _ = _entry(label, slot)
        if sectors == 0 or fstype == _UNUSED:
            continue
        start = offset * 512 + (slice_start if relative else 0)
        size = sectors * 512
        if slice_size is not None and start == slice_start and size == slice_size:
            continue  # partition "c": the slice itself
        where = f"bsd partition {index}"
        if start < slice_start or start + size > end:
            problems.append(
                Problem(Stage.VOLUMES, where, "lies outside the slice that holds the label")
            )
            continue
        found = partition_source(disk, start, size, where, problems)
        if found is not None:
            source, size = found
            volume = Volume(index, "bsd", start, size, source, type_id=f"{fstype}")
            volumes.append(volume)
        index += 1
    return volumes


def _entry(label: bytes, slot: int) -> tuple[int, ...]:
    return _ENTRY.unpack_from(label, _HEADER + slot * _ENTRY.size)
