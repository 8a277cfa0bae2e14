"""Say what changed: differing chunk hashes -> byte ranges -> volumes -> guest files.

Guest files are found through the disk layer: the changed disk is read as a guest (its
partitions and filesystems), every regular file's extents are taken from its filesystem
reader (``Filesystem.extents``: offsets relative to its volume) and matched against the
changed ranges. The files named are those of the disk as it is now: a file whose blocks
moved is found where it is.

Chunk granularity (64 KiB) means a small file sharing a chunk with a changed one is named
too; the ranges are exact to the chunk. Walks are bounded; nothing here writes or opens
host paths.
"""

from __future__ import annotations

import bisect
import stat as st
from collections.abc import Iterator
from typing import Any

from vmguard.disk.errors import DiskError
from vmguard.disk.layout import PlacedVolume, assemble_layout
from vmguard.disk.limits import DEFAULT_LIMITS
from vmguard.disk.source import ByteSource, SliceSource
from vmguard.disk.volumes.scan import scan_volumes
from vmguard.integrity.changes import ByteRange, GuestFileHit
from vmguard.integrity.leaves import Leaves

MAX_RANGES = 4096
MAX_FILES_LISTED = 200
MAX_WALK = 2_000_000


def _differing_chunks(signed: Leaves, current: Leaves) -> Iterator[int]:
    """Ascending chunk indexes (below both counts) whose leaves differ; a merge of the two
    sparse lists, so all-zero chunks on both sides cost nothing."""
    common = min(signed.count, current.count)
    a, b = signed.explicit(), current.explicit()
    x, y = next(a, None), next(b, None)
    while x is not None or y is not None:
        if y is None or (x is not None and x[0] < y[0]):
            index, differs = x[0], x[1] != current.default  # type: ignore[index]
            x = next(a, None)
        elif x is None or y[0] < x[0]:
            index, differs = y[0], y[1] != signed.default
            y = next(b, None)
        else:
            index, differs = x[0], x[1] != y[1]
            x, y = next(a, None), next(b, None)
        if index >= common:
            return
        if differs:
            yield index


def changed_ranges(
    signed: Leaves, current: Leaves, chunk_size: int, signed_size: int, current_size: int
) -> tuple[ByteRange, ...]:
    """Coalesced ranges whose chunk hashes differ, plus any part only one side has."""
    ranges: list[ByteRange] = []
    low, high = sorted((signed_size, current_size))
    for index in _differing_chunks(signed, current):
        start, end = index * chunk_size, min((index + 1) * chunk_size, low)
        if ranges and ranges[-1].end == start:
            ranges[-1] = ByteRange(ranges[-1].start, end)
        elif len(ranges) < MAX_RANGES:
            ranges.append(ByteRange(start, end))
        else:
            break
    if low != high:
        # The last common chunk may be partial on one side: the size change starts there.
        tail = (low // chunk_size) * chunk_size
        if ranges and ranges[-1].end >= tail:
            ranges[-1] = ByteRange(ranges[-1].start, high)
        else:
            ranges.append(ByteRange(tail, high))
    return tuple(ranges)


def _volume_offset(placed: PlacedVolume, disk: ByteSource) -> int | None:
    source = placed.volume.source
    if isinstance(source, SliceSource) and source.parent is disk:
        return source.offset
    return None


def _walk_files(placed: PlacedVolume) -> Iterator[tuple[str, Any]]:
    fs = placed.filesystem
    if fs is None:
        return
    prefix = placed.mountpoint or f"[{placed.where}]"
    prefix = "" if prefix == "/" else prefix
    stack: list[tuple[str, Any]] = [(prefix, fs.root)]
    seen: set[int] = set()
    count = 0
    while stack:
        path, node = stack.pop()
        for name, child in sorted(fs.children(node).items()):
            count += 1
            if count > MAX_WALK:
                return
            info = fs.stat(child)
            child_path = f"{path}/{name}"
            if st.S_ISDIR(info.mode):
                if info.inode not in seen:
                    seen.add(info.inode)
                    stack.append((child_path, child))
            elif st.S_ISREG(info.mode):
                yield child_path, child


def _hits(starts: list[int], ranges: list[ByteRange], lo: int, hi: int) -> bool:
    i = bisect.bisect_right(starts, hi - 1) - 1
    return i >= 0 and ranges[i].end > lo


def locate(
    disk: ByteSource, disk_name: str, ranges: tuple[ByteRange, ...]
) -> tuple[tuple[str, ...], tuple[GuestFileHit, ...], int]:
    """(regions, guest files listed, how many more) for changed ranges of ``disk``."""
    if not ranges:
        return (), (), 0
    try:
        layout = assemble_layout([(disk_name, scan_volumes(disk, limits=DEFAULT_LIMITS))])
    except DiskError as err:
        return (f"partitions unreadable: {err.diagnostics()}",), (), 0
    regions: list[str] = []
    hits: list[GuestFileHit] = []
    more = 0
    covered = [False] * len(ranges)
    for placed in layout.volumes:
        base = _volume_offset(placed, disk)
        if base is None:
            continue
        inside = [
            ByteRange(max(r.start, base) - base, min(r.end, base + placed.volume.size) - base)
            for r in ranges
            if r.start < base + placed.volume.size and r.end > base
        ]
        for i, r in enumerate(ranges):
            if r.start < base + placed.volume.size and r.end > base:
                covered[i] = True
        if not inside:
            continue
        where = placed.where + (f" ({placed.mountpoint})" if placed.mountpoint else "")
        regions.append(where)
        starts = [r.start for r in inside]
        try:
            fs = placed.filesystem
            for path, node in _walk_files(placed):
                if fs and any(_hits(starts, inside, o, o + n) for o, n in fs.extents(node)):
                    if len(hits) < MAX_FILES_LISTED:
                        hits.append(GuestFileHit(path, placed.where))
                    else:
                        more += 1
        except (DiskError, OSError, OverflowError) as err:
            regions.append(f"{placed.where}: files not mapped: {err}")
    if not all(covered):
        regions.append("outside every mapped volume (partition table, gaps, LVM metadata)")
    return tuple(regions), tuple(hits), more
