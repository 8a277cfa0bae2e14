"""Unallocated space of a btrfs volume, for ``scan --deleted``.

Two kinds: device bytes no chunk maps (outside the first MiB btrfs reserves and the
superblock copies), and bytes inside chunks that no extent item of the extent tree covers
(data freed by deleted files, metadata blocks no longer in any tree). Each free logical range
is mapped to every copy on the device. Nothing here reads file contents.
"""

from __future__ import annotations

from collections.abc import Iterator

from vmguard.disk.btrfs.chunks import Chunk
from vmguard.disk.btrfs.items import EXTENT_ITEM, EXTENT_TREE, METADATA_ITEM
from vmguard.disk.btrfs.superblock import SUPERBLOCK_OFFSETS, SUPERBLOCK_SIZE
from vmguard.disk.btrfs.tree import KEY_MAX
from vmguard.disk.btrfs.volume import BtrfsVolume
from vmguard.disk.errors import CorruptImage, LimitExceeded
from vmguard.disk.source import DataRange, coalesce

RESERVED_HEAD = 1024 * 1024
MAX_FREE_PIECES = 1 << 22


def _free_in_chunk(volume: BtrfsVolume, chunk: Chunk) -> Iterator[tuple[int, int]]:
    """Logical [lo, hi) ranges of ``chunk`` that no extent item covers."""
    extent_root = volume.require_root(EXTENT_TREE)
    nodesize = volume.superblock.nodesize
    cursor, end = chunk.logical, chunk.logical + chunk.length
    for key, _data in volume.trees.items(
        extent_root.bytenr, extent_root.level, (chunk.logical, 0, 0), (end - 1, 255, KEY_MAX)
    ):
        if key[1] == EXTENT_ITEM:
            start, length = key[0], key[2]
        elif key[1] == METADATA_ITEM:
            start, length = key[0], nodesize
        else:
            continue
        if start > cursor:
            yield cursor, min(start, end)
        cursor = max(cursor, start + length)
        if cursor >= end:
            return
    if cursor < end:
        yield cursor, end


def _physical(chunk: Chunk, lo: int, hi: int) -> Iterator[tuple[int, int]]:
    """Device ranges holding the logical range [lo, hi) of ``chunk``, every copy."""
    while lo < hi:
        copies = chunk.copies(lo)
        run = min(copies[0][1], hi - lo)
        for physical, _ in copies:
            yield physical, physical + run
        lo += run


def btrfs_free(volume: BtrfsVolume) -> Iterator[DataRange]:
    """Ascending, non-overlapping free byte ranges of the volume's one device."""
    size = volume.source.size
    used: list[tuple[int, int]] = [(0, min(RESERVED_HEAD, size))]
    used.extend((o, o + SUPERBLOCK_SIZE) for o in SUPERBLOCK_OFFSETS if o < size)
    free: list[tuple[int, int]] = []
    for chunk in volume.chunks:
        used.extend((stripe, stripe + chunk.stripe_bytes) for stripe in chunk.stripes)
        for lo, hi in _free_in_chunk(volume, chunk):
            free.extend(_physical(chunk, lo, hi))
            if len(free) > MAX_FREE_PIECES:
                raise LimitExceeded(f"btrfs free space is in more than {MAX_FREE_PIECES} pieces")
    used.sort()
    cursor = 0
    for lo, hi in used:
        if lo > cursor:
            free.append((cursor, lo))
        cursor = max(cursor, hi)
    if cursor < size:
        free.append((cursor, size))
    free.sort()
    merged: list[tuple[int, int]] = []
    for lo, hi in free:
        if lo >= size:
            raise CorruptImage(f"btrfs free range at {lo} lies past the device end")
        top = min(hi, size)
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], top))
        else:
            merged.append((lo, top))
    yield from coalesce(iter(merged))
