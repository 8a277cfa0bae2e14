"""Files of a btrfs FS tree: inodes, directory listings, extended attributes and content.

A file's content is the concatenation of its EXTENT_DATA items: inline data, regular
extents (possibly compressed), preallocated extents and holes (missing items or a zero disk
address) that read as zeros. Reads are clipped at the inode's size. Lists are bounded; a
compressed extent is decompressed within ``decompress``'s limits.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from itertools import chain
from typing import Final, cast

from vmguard.disk.btrfs.extentdata import ExtentData
from vmguard.disk.btrfs.items import (
    DIR_INDEX,
    DIR_INDEX_HEAD,
    EXTENT_DATA,
    EXTENT_INLINE,
    EXTENT_PREALLOC,
    INODE_ITEM,
    NUM_BYTES,
    ROOT_ITEM,
    XATTR_ITEM,
    ExtentFields,
    FileExtent,
    Inode,
    file_extent_fields,
    inode_fields,
    parse_dir_entries,
    parse_file_extent,
)
from vmguard.disk.btrfs.leaffiles import (
    CONTENT_TYPES,
    EXTENT_COUNT,
    INODE_FIELDS,
    MODE,
    SIZE,
    FileRecord,
    leaf_files,
    new_record,
    record_extents,
)
from vmguard.disk.btrfs.tree import KEY_MAX
from vmguard.disk.btrfs.volume import BtrfsVolume
from vmguard.disk.errors import CorruptImage, LimitExceeded

MAX_DIR_ENTRIES: Final = 1_000_000
MAX_FILE_EXTENTS: Final = 1_000_000
MAX_XATTRS: Final = 4096
_FILE_RECORDS = 1 << 16
"""Inode records kept (with their extent lists: a few hundred bytes each, besides inline
data, which ``_LEAF_BYTES`` bounds: it is never more than the leaves it came from)."""
_LEAF_BYTES = 32 * 1024 * 1024
"""Leaves whose inodes are recorded, in bytes of tree blocks."""
_EXTENT_LIST_CACHE: Final = 64
_EAGER_EXTENTS = 256


_make_inode = Inode._make
_make_extent = FileExtent._make

BtrfsNode = tuple[int, int]
"""An inode of one FS tree (a subvolume or snapshot): (tree id, inode number).

A plain tuple, not a NamedTuple: a directory listing makes one per entry, which compiled
code builds in one step (a NamedTuple is built through its class), and the cycle collector
stops tracking a plain tuple of numbers, never a tuple subclass."""


_DOTS: Final = (b".", b"..")
_SLASH: Final = ord("/")
_NUL: Final = 0
"""Bytes a name may not hold, as numbers: ``int in bytes`` is a byte search, while
``bytes in bytes`` first tries the operand as a number and builds and drops a TypeError
(measured: a twentieth of a btrfs walk's instructions)."""
_DIR_INDEX_HEAD_SIZE: Final = DIR_INDEX_HEAD.size
_unpack_dir_index_head: Final = DIR_INDEX_HEAD.unpack_from


class FileReader:
    """Reads inodes and files of every FS tree of one volume, with bounded caches."""

    def __init__(self, volume: BtrfsVolume) -> None:
        self.volume = volume
        self.data = ExtentData(volume)
        """Extents' bytes: plain, decompressed (with a small cache) and assembled."""
        self._records: dict[tuple[int, int], FileRecord] = {}
        """Inodes met, with their extents when read along (emptied when full)."""
        self._leaves_read: set[tuple[int, int]] = set()
        """(tree, leaf address) of each leaf whose inodes ``_records`` holds."""
        self._max_leaves = max(_LEAF_BYTES // volume.superblock.nodesize, 64)
        self._extents: OrderedDict[BtrfsNode, tuple[list[int], list[FileExtent]]] = OrderedDict()

    def _items(
        self, node: BtrfsNode, kind: int, low: int = 0, high: int = KEY_MAX
    ) -> Iterator[tuple[tuple[int, int, int], bytes]]:
        tree, ino = node
        root = self.volume.require_root(tree)
        return self.volume.trees.items(root.bytenr, root.level, (ino, kind, low), (ino, kind, high))

    def inode(self, node: BtrfsNode) -> Inode:
        """The node's inode item; ``CorruptImage`` when the tree has none."""
        record = self._records.get(node)
        if record is None:
            record = self._load(node)
        return _make_inode(record[:INODE_FIELDS])

    def record(self, node: BtrfsNode) -> FileRecord:
        """The node's record: ``inode``'s fields first, in ``Inode``'s order (``stat`` of
        every walked file reads them from here)."""
        record = self._records.get(node)
        if record is None:
            record = self._load(node)
        return record

    def _load(self, node: BtrfsNode) -> FileRecord:
        """Find the node's inode item; record every inode of the leaf holding it at once
        (a walk meets them one after the other), or this one alone when the leaf pass
        leaves it out."""
        # One descent serves both the inode item and, for a file, its extents (they follow
        # it in key order).
        tree, ino = node
        root = self.volume.require_root(tree)
        spans = self.volume.trees.spans(
            root.bytenr, root.level, (ino, INODE_ITEM, 0), (ino, EXTENT_DATA, KEY_MAX)
        )
        found = next(spans, None)
        if found is None or found[0].keys[found[1]][1:] != (INODE_ITEM, 0):
            raise CorruptImage(f"btrfs inode {ino} of tree {tree} is missing")
        leaf, index, end = found
        if (tree, leaf.address) not in self._leaves_read:
            if len(self._records) >= _FILE_RECORDS or len(self._leaves_read) >= self._max_leaves:
                self._records.clear()
                self._leaves_read.clear()
            self._leaves_read.add((tree, leaf.address))
            self._records.update(leaf_files(tree, leaf.keys, leaf.items))
            recorded = self._records.get(node)
            if recorded is not None:
                return recorded
        inode = inode_fields(leaf.items[index])
        record = new_record(inode, None, None)
        if inode[MODE] & 0o170000 in CONTENT_TYPES:
            offsets: list[int] = []
            extents: list[ExtentFields] = []
            first_extent = (ino, EXTENT_DATA, 0)
            for block, i, j in chain(((leaf, index, end),), spans):
                keys, items = block.keys, block.items
                for k in range(bisect.bisect_left(keys, first_extent, i, j), j):
                    if len(offsets) >= _EAGER_EXTENTS:
                        break  # a long extent list is read when the file is
                    offsets.append(keys[k][2])
                    extents.append(file_extent_fields(items[k]))
                else:
                    continue
                break
            else:
                record = new_record(inode, offsets, extents)
        self._records[node] = record
        return record

    def _remember_extents(self, node: BtrfsNode, found: tuple[list[int], list[FileExtent]]) -> None:
        self._extents[node] = found
        if len(self._extents) > _EXTENT_LIST_CACHE:
            self._extents.popitem(last=False)

    def entries(self, node: BtrfsNode) -> dict[str, BtrfsNode]:
        """A directory's entries by name (UTF-8, undecodable bytes replaced); a subvolume
        entry gives its top directory, a subvolume whose root item is gone is left out."""
        # One unpack per entry, no helper calls: this runs once per guest file.
        found: dict[str, BtrfsNode] = {}
        tree, ino = node
        root = self.volume.require_root(tree)
        spans = self.volume.trees.spans(
            root.bytenr, root.level, (ino, DIR_INDEX, 0), (ino, DIR_INDEX, KEY_MAX)
        )
        head = _DIR_INDEX_HEAD_SIZE
        objectid: int  # typed, so that compiled code does the arithmetic itself
        kind: int
        name_len: int
        count = 0
        for leaf, first, end in spans:
            items = leaf.items
            count += end - first
            if count > MAX_DIR_ENTRIES:
                raise LimitExceeded(f"btrfs directory holds more than {MAX_DIR_ENTRIES}")
            for k in range(first, end):
                data = items[k]
                if len(data) < head:
                    raise CorruptImage("btrfs directory item is truncated")
                objectid, kind, name_len = _unpack_dir_index_head(data)
                name = data[head : head + name_len]
                if len(name) != name_len:
                    raise CorruptImage("btrfs directory item name runs past its item")
                if kind == INODE_ITEM:
                    child: BtrfsNode | None = (tree, objectid)
                else:
                    child = self._subvolume_top(objectid, kind)
                if (
                    child is not None
                    and name
                    and name not in _DOTS
                    and _SLASH not in name
                    and _NUL not in name
                ):
                    found[name.decode("utf-8", "replace")] = child
        return found

    def _subvolume_top(self, objectid: int, kind: int) -> BtrfsNode | None:
        if kind == ROOT_ITEM:
            root = self.volume.root(objectid)
            return None if root is None else (objectid, root.root_dirid)
        return None

    def xattrs(self, node: BtrfsNode) -> dict[bytes, bytes]:
        """Extended attributes by name (security.selinux, security.capability, ...)."""
        found: dict[bytes, bytes] = {}
        for _key, data in self._items(node, XATTR_ITEM):
            for entry in parse_dir_entries(data):
                if len(found) >= MAX_XATTRS:
                    raise LimitExceeded(f"btrfs inode holds more than {MAX_XATTRS} xattrs")
                found[entry.name] = entry.data
        return found

    def extents(self, node: BtrfsNode) -> tuple[Sequence[int], Sequence[FileExtent]]:
        """File offsets (ascending) and the extent starting at each."""
        record = self._records.get(node)
        recorded = None if record is None else record_extents(record)
        if recorded is not None:
            return recorded[0], list(map(_make_extent, recorded[1]))
        cached = self._extents.get(node)
        if cached is not None:
            self._extents.move_to_end(node)
            return cached
        offsets: list[int] = []
        extents: list[FileExtent] = []
        for key, data in self._items(node, EXTENT_DATA):
            if len(offsets) >= MAX_FILE_EXTENTS:
                raise LimitExceeded(f"btrfs file has more than {MAX_FILE_EXTENTS} extents")
            offsets.append(key[2])
            extents.append(parse_file_extent(data))
        self._remember_extents(node, (offsets, extents))
        return offsets, extents

    def read(self, node: BtrfsNode, offset: int, length: int) -> bytes:
        """Bytes ``[offset, offset + length)`` of a file, clipped at its size."""
        record = self._records.get(node)
        if record is None:
            record = self._load(node)
        size: int = record[SIZE]  # typed, so that compiled code compares numbers itself
        end = min(offset + length, size)
        if offset >= end:
            return b""
        count: int = record[EXTENT_COUNT]
        if count == 1 and record[EXTENT_COUNT + 1] == 0:
            # One extent from the file's start (most files): no lists, no search.
            extent = cast(ExtentFields, record[EXTENT_COUNT + 2 :])
            if end <= extent[NUM_BYTES]:
                data = self.data.extent_bytes(extent, offset, end - offset)
                return data if len(data) == end - offset else data + bytes(end - offset - len(data))
        offsets: Sequence[int]
        extents: Sequence[FileExtent]
        recorded = record_extents(record)
        if recorded is not None:
            offsets, extents = recorded[0], list(map(_make_extent, recorded[1]))
        else:
            offsets, extents = self.extents(node)
        i = max(bisect.bisect_right(offsets, offset) - 1, 0)
        if i < len(offsets) and offsets[i] <= offset and end <= offsets[i] + extents[i].num_bytes:
            # The whole range lies in one extent (most files): no assembly buffer.
            extent, skip = extents[i], offset - offsets[i]
            data = self.data.extent_bytes(extent, skip, end - offset)
            return data if len(data) == end - offset else data + bytes(end - offset - len(data))
        parts = self.data.assembled(offsets, extents, i, offset, end)
        if parts is not None:
            return b"".join(parts)
        return self.data.overlaid(offsets, extents, i, offset, end)

    def device_extents(self, node: BtrfsNode) -> Iterator[tuple[int, int]]:
        """(device offset, length) of every copy of what the file's content is read from:
        data extents (compressed ones as stored), and for inline data the leaf holding it."""
        tree, ino = node
        root = self.volume.require_root(tree)
        for block, i in self.volume.trees.item_slots(
            root.bytenr, root.level, (ino, EXTENT_DATA, 0), (ino, EXTENT_DATA, KEY_MAX)
        ):
            extent = parse_file_extent(block.items[i])
            if extent.kind == EXTENT_INLINE:
                start, length = block.address, self.volume.superblock.nodesize
            elif extent.kind == EXTENT_PREALLOC or extent.disk_bytenr == 0:
                continue
            elif extent.compression:
                start, length = extent.disk_bytenr, extent.disk_num_bytes
            else:
                start, length = extent.disk_bytenr + extent.offset, extent.num_bytes
            yield from self.volume.device_ranges(start, length)
