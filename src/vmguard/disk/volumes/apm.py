"""Apple Partition Map (APM): the table of classic Mac OS disks, Intel-Mac installers and
hybrid ISO images.

Layout (big-endian): block 0 may hold a driver descriptor ("ER", its block size at offset 2);
the map itself starts at block 1, one entry per block ("PM", the number of entries in the
map, first block, block count, name, type). Partitions are numbered as Linux and blkid number
them: entry N of the map is partition N, so the map's own entry is partition 1. The map
entry, free space and driver entries are listed by number but hold no filesystem, so they
are not returned as volumes.

This module must never read more than ``Limits.max_gpt_entries`` entries, trust a block size
other than 512, 1024, 2048 or 4096, or let a malformed entry escape as anything but a
recorded ``Problem``.
"""

from __future__ import annotations

import struct

from vmguard.disk.limits import Limits
from vmguard.disk.source import ByteSource
from vmguard.disk.volumes.interface import Volume, VolumeLayout
from vmguard.disk.volumes.mbr import partition_source
from vmguard.problems import Problem, Stage

ENTRY_MAGIC = b"PM"
DRIVER_MAGIC = b"ER"
_ENTRY = struct.Struct(">2s2xIII32s32s")
_BLOCK_SIZES = frozenset({512, 1024, 2048, 4096})
NOT_DATA_TYPES = frozenset({"apple_partition_map", "apple_free", "apple_void", "apple_scratch"})
"""Entries that describe the map or unused space: numbered, never a filesystem."""
NOT_DATA_PREFIXES = ("apple_driver", "apple_patches", "apple_fwdriver")
"""Boot-time drivers and ROM patches: code blobs, not filesystems."""


def holds_data(type_name: str) -> bool:
    """False for the map's own entry, free space and driver blobs."""
    kind = type_name.lower()
    return kind not in NOT_DATA_TYPES and not kind.startswith(NOT_DATA_PREFIXES)


def has_apm(disk: ByteSource) -> bool:
    """True when block 1 (at the driver descriptor's block size, else 512) is a map entry."""
    return disk.read_at(_block_size(disk), 2) == ENTRY_MAGIC


def _block_size(disk: ByteSource) -> int:
    head = disk.read_at(0, 4)
    if len(head) == 4 and head[:2] == DRIVER_MAGIC:
        size = struct.unpack_from(">H", head, 2)[0]
        if size in _BLOCK_SIZES and disk.read_at(size, 2) == ENTRY_MAGIC:
            return int(size)
    return 512


def _text(raw: bytes) -> str:
    name = raw.split(b"\0", 1)[0].decode("ascii", "replace")
    return "".join(c if c.isprintable() else "?" for c in name)


def read_apm(disk: ByteSource, *, limits: Limits) -> VolumeLayout:
    """The partitions an Apple Partition Map lists (see the module docstring)."""
    block = _block_size(disk)
    problems: list[Problem] = []
    volumes: list[Volume] = []
    first = _ENTRY.unpack_from(disk.read_at(block, _ENTRY.size).ljust(_ENTRY.size, b"\0"))
    count = first[1]
    if count > limits.max_gpt_entries:
        problems.append(
            Problem(Stage.VOLUMES, "apm", f"map claims {count} entries; read the first "
                                 f"{limits.max_gpt_entries}")
        )  # fmt: skip
        count = limits.max_gpt_entries
    for number in range(1, count + 1):
        where = f"apm partition {number}"
        raw = disk.read_at(number * block, _ENTRY.size)
        if len(raw) < _ENTRY.size:
            problems.append(Problem(Stage.VOLUMES, where, "map entry past the end of the disk"))
            break
        magic, _, start, blocks, name, kind = _ENTRY.unpack(raw)
        if magic != ENTRY_MAGIC:
            problems.append(
                Problem(Stage.VOLUMES, where, "map entry has no PM signature; map ends")
            )
            break
        type_name = _text(kind)
        if not holds_data(type_name) or blocks == 0:
            continue
        found = partition_source(disk, start * block, blocks * block, where, problems)
        if found is None:
            continue
        source, size = found
        volumes.append(
            Volume(
                index=number,
                scheme="apm",
                start=start * block,
                size=size,
                source=source,
                type_id=type_name,
                label=_text(name) or None,
            )
        )
    return VolumeLayout("apm", tuple(volumes), tuple(problems))
