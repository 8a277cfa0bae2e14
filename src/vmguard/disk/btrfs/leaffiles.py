"""Every inode of one btrfs leaf at once: the inode item and, for a file, its extent list.

A walk stats and reads inode after inode, and mkfs and the kernel keep an inode's items
(INODE_ITEM, refs, xattrs, EXTENT_DATA) together in key order, so one pass over a leaf
serves dozens of lookups that would otherwise each search the tree. The pass is bounded by
the leaf (its item count was checked when it was read). It must never guess: an inode
whose items may continue in the next leaf, or whose inode or extent items do not parse,
is left out, and the caller looks it up alone (with the errors that lookup raises).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from vmguard.disk.btrfs.items import (
    EXTENT_DATA,
    INODE_ITEM,
    ExtentFields,
    file_extent_fields,
    inode_fields,
)
from vmguard.disk.btrfs.tree import KEY_MAX, Key
from vmguard.disk.errors import CorruptImage

FileRecord = tuple[tuple[int, ...], tuple[int, ...] | None, tuple[ExtentFields, ...] | None]
"""An inode's fields (see ``inode_fields``) with its extents' file offsets and fields (None:
not read yet). Plain tuples only: a walk keeps tens of thousands of records, which Python's
cycle collector would otherwise traverse again and again."""

SIZE, MODE = 0, 4
"""Where the size and the mode are in an inode's fields."""
_FILE_TYPES = (0o100000, 0o120000)
"""Regular files and symlinks: the inodes whose content lies in EXTENT_DATA items."""


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
    for i in [i for i, key in enumerate(keys) if key[1] == INODE_ITEM and key[2] == 0]:
        ino = keys[i][0]
        try:
            inode = inode_fields(items[i])
        except CorruptImage:
            continue
        if inode[MODE] & 0o170000 not in _FILE_TYPES:
            records[tree, ino] = (inode, None, None)
            continue
        # The object's EXTENT_DATA items, found by key (the leaf is sorted, as every
        # search of it assumes); its items are complete only when another object follows.
        first = bisect_left(keys, (ino, EXTENT_DATA, 0), i)
        last = bisect_right(keys, (ino, EXTENT_DATA, KEY_MAX), first)
        if last >= count or keys[last][0] == ino:
            continue
        try:
            if last == first + 1:  # one extent: most files
                extents: tuple[ExtentFields, ...] = (file_extent_fields(items[first]),)
                offsets: tuple[int, ...] = (keys[first][2],)
            else:
                extents = tuple([file_extent_fields(items[k]) for k in range(first, last)])
                offsets = tuple([keys[k][2] for k in range(first, last)])
        except CorruptImage:
            continue
        records[tree, ino] = (inode, offsets, extents)
    return records
