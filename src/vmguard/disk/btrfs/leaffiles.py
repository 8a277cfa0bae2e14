"""Every inode of one btrfs leaf at once: the inode item and, for a file, its extent list.

A walk stats and reads inode after inode, and mkfs and the kernel keep an inode's items
(INODE_ITEM, refs, xattrs, EXTENT_DATA) together in key order, so one pass over a leaf
serves dozens of lookups that would otherwise each search the tree. The pass is bounded by
the leaf (its item count was checked when it was read). It must never guess: an inode
whose items may continue in the next leaf, or whose inode or extent items do not parse,
is left out, and the caller looks it up alone (with the errors that lookup raises).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any, Final

from vmguard.disk.btrfs.items import (
    EXTENT_DATA,
    INODE_ITEM,
    ExtentFields,
    file_extent_fields,
    inode_fields,
)
from vmguard.disk.btrfs.tree import Key
from vmguard.disk.errors import CorruptImage

FileRecord = tuple[Any, ...]
"""One flat tuple per inode: the inode's fields (see ``inode_fields``: ``SIZE``, ``MODE``,
...), then at ``EXTENT_COUNT`` the number of extents (``UNREAD``: not recorded, or not a
file), their file offsets, and ``EXTENT_FIELDS`` fields per extent (``FileExtent``'s order).

Flat, of numbers and bytes only: Python's cycle collector stops tracking such a tuple the
first time it sees it. A record of nested tuples it may look at before their elements, keep
tracking, and then promote: a walk keeps tens of thousands of records, and those promotions
alone set off full collections over the whole heap (measured: two per walk of a 16,000-file
guest, a tenth of the walk's time)."""

SIZE: Final = 0
UID: Final = 2
GID: Final = 3
MODE: Final = 4
MTIME: Final = 7
"""Where these are in an inode's fields (see ``Inode``), and so in a record."""
INODE_FIELDS: Final = 8
EXTENT_COUNT: Final = INODE_FIELDS
EXTENT_FIELDS: Final = 8
UNREAD: Final = -1
CONTENT_TYPES: Final = (0o100000, 0o120000)
"""Regular files and symlinks: the inodes whose content lies in EXTENT_DATA items."""


def new_record(
    inode: tuple[int, ...], offsets: Sequence[int] | None, extents: Sequence[ExtentFields] | None
) -> FileRecord:
    """The record of an inode, with its extents' offsets and fields when they were read."""
    if offsets is None or extents is None:
        return (*inode, UNREAD)
    if len(offsets) == 1:  # most files: no chain to build
        return (*inode, 1, offsets[0], *extents[0])
    return (*inode, len(offsets), *offsets, *chain.from_iterable(extents))


def record_extents(record: FileRecord) -> tuple[tuple[int, ...], list[ExtentFields]] | None:
    """The file offsets and extent fields a record holds; None when it holds none."""
    count: int = record[EXTENT_COUNT]
    if count == UNREAD:
        return None
    first = EXTENT_COUNT + 1 + count
    fields = [
        record[start : start + EXTENT_FIELDS]
        for start in range(first, first + count * EXTENT_FIELDS, EXTENT_FIELDS)
    ]
    return record[EXTENT_COUNT + 1 : first], fields


def leaf_files(
    tree: int, keys: tuple[Key, ...], items: tuple[bytes, ...]
) -> dict[tuple[int, int], FileRecord]:
    """Records of the inodes whose INODE_ITEM is in this leaf of FS tree ``tree``, by
    (tree, inode number): the value a ``BtrfsNode`` equals.

    A regular file or symlink is recorded with its complete extent list, so only when a key
    of a later object follows its items in this leaf; other inodes get no extent list.
    """
    records: dict[tuple[int, int], FileRecord] = {}
    count = len(keys)
    end = 0
    while end < count:
        # [start, end): one object's items, in key order (the leaf is sorted, as every
        # search of it assumes). One pass over the leaf, no search per inode.
        start = end
        ino = keys[start][0]
        end = start + 1
        while end < count and keys[end][0] == ino:
            end += 1
        found = start
        while found < end and not (keys[found][1] == INODE_ITEM and keys[found][2] == 0):
            found += 1
        if found == end:
            continue  # the inode item is in an earlier leaf, or this is not an inode
        try:
            inode = inode_fields(items[found])
        except CorruptImage:
            continue
        if inode[MODE] & 0o170000 not in CONTENT_TYPES:
            records[tree, ino] = new_record(inode, None, None)
            continue
        # The EXTENT_DATA items come last (the highest item type of an inode); they are
        # complete only when another object follows them in this leaf.
        first = found + 1
        while first < end and keys[first][1] != EXTENT_DATA:
            first += 1
        last = first
        while last < end and keys[last][1] == EXTENT_DATA:
            last += 1
        if last != end or end == count:
            continue
        try:
            extents = [file_extent_fields(items[k]) for k in range(first, last)]
        except CorruptImage:
            continue
        records[tree, ino] = new_record(inode, [keys[k][2] for k in range(first, last)], extents)
    return records
