"""Range scans over leaves already met: an empty range gives nothing, wherever it lies."""

from __future__ import annotations

import pytest

from memsource import BytesSource
from vmguard.disk.btrfs.chunks import ChunkMap
from vmguard.disk.btrfs.items import EXTENT_DATA, INODE_ITEM
from vmguard.disk.btrfs.tree import KEY_MAX, TreeBlock, TreeReader
from vmguard.disk.errors import CorruptImage

ROOT = 30_000_000


def _reader_knowing(*objectids: int) -> TreeReader:
    """A reader that has met one leaf of tree ``ROOT`` holding these inodes' items."""
    reader = TreeReader(BytesSource(b""), ChunkMap(), nodesize=16384, csum_type=0, fsid=b"")
    keys = tuple((o, kind, 0) for o in objectids for kind in (INODE_ITEM, EXTENT_DATA))
    reader._remember_leaf(ROOT, TreeBlock(ROOT, 0, 5, keys, (), tuple(b"" for _ in keys)))
    return reader


def test_an_inode_missing_between_two_others_has_no_items() -> None:
    """Inode 258 is absent from a leaf holding 257 and 259: its range is empty. (The first
    version of spans gave an empty span here, and an inode lookup took 259's INODE_ITEM,
    the next key, for 258's.)"""
    reader = _reader_knowing(257, 259, 260)
    low, high = (258, INODE_ITEM, 0), (258, EXTENT_DATA, KEY_MAX)
    assert list(reader.spans(ROOT, 0, low, high)) == []
    assert list(reader.items(ROOT, 0, low, high)) == []
    assert list(reader.item_slots(ROOT, 0, low, high)) == []
    ((leaf, i, j),) = reader.spans(ROOT, 0, (259, INODE_ITEM, 0), (259, EXTENT_DATA, KEY_MAX))
    assert leaf.keys[i:j] == ((259, INODE_ITEM, 0), (259, EXTENT_DATA, 0))


def test_a_range_scan_reads_a_leaf_only_when_its_items_are_reached() -> None:
    """The first item of a range comes before the next leaf is read (here it cannot be: it
    is nowhere). Compiled by mypyc, a generator expression would have become a list and
    read every leaf of the range first, keeping them all."""
    reader = TreeReader(BytesSource(b""), ChunkMap(), nodesize=16384, csum_type=0, fsid=b"")
    first, missing = 40_000_000, 40_016_384
    keys = ((257, INODE_ITEM, 0), (258, INODE_ITEM, 0))
    reader._cache[ROOT] = TreeBlock(ROOT, 1, 5, ((256, 0, 0), (300, 0, 0)), (first, missing), ())
    reader._cache[first] = TreeBlock(first, 0, 5, keys, (), (b"a", b"b"))
    scan = reader.items(ROOT, 1, (257, 0, 0), (400, 0, 0))
    assert next(scan) == ((257, INODE_ITEM, 0), b"a")
    assert next(scan) == ((258, INODE_ITEM, 0), b"b")
    with pytest.raises(CorruptImage):
        next(scan)
