"""One btrfs filesystem opened from one device: superblock, chunk map, root tree, subvolumes.

Subvolumes (and snapshots, which are subvolumes too) are FS trees named in the root tree;
the default subvolume is the root tree's "default" directory entry, else the top level (5).
Only this device is ever read: the superblock's device count and every chunk stripe must
name it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from vmguard.disk.btrfs.chunks import ChunkMap, parse_chunk, parse_sys_chunk_array
from vmguard.disk.btrfs.items import (
    CHUNK_ITEM,
    DIR_ITEM,
    FIRST_CHUNK_TREE,
    FIRST_FREE,
    FS_TREE,
    LAST_FREE,
    ROOT_BACKREF,
    ROOT_ITEM,
    ROOT_TREE_DIR,
    RootItem,
    parse_dir_entries,
    parse_root_item,
    parse_root_ref,
)
from vmguard.disk.btrfs.superblock import Superblock, read_superblock
from vmguard.disk.btrfs.tree import KEY_MAX, TreeReader
from vmguard.disk.errors import CorruptImage, LimitExceeded, UnsupportedFormat
from vmguard.disk.source import ByteSource

MAX_SUBVOLUMES: Final = 100_000


class BtrfsVolume:
    """The filesystem-wide structures; FS trees are read on demand and their roots cached."""

    def __init__(self, source: ByteSource) -> None:
        self.source = source
        self.superblock: Superblock = read_superblock(source)
        sb = self.superblock
        if sb.num_devices != 1:
            raise UnsupportedFormat(
                f"btrfs filesystem spans {sb.num_devices} devices; multi-device btrfs is not read"
            )
        self.chunks: ChunkMap = parse_sys_chunk_array(sb.sys_chunk_array, sb.devid, source.size)
        self.trees = TreeReader(
            source,
            self.chunks,
            nodesize=sb.nodesize,
            csum_type=sb.csum_type,
            fsid=sb.metadata_fsid,
        )
        full = ChunkMap()
        for key, data in self.trees.items(
            sb.chunk_root,
            sb.chunk_root_level,
            (FIRST_CHUNK_TREE, CHUNK_ITEM, 0),
            (FIRST_CHUNK_TREE, CHUNK_ITEM, KEY_MAX),
        ):
            full.add(parse_chunk(key[2], data, sb.devid, source.size))
        for chunk in self.chunks:
            full.add(chunk)
        self.chunks = full
        self.trees.chunks = full
        self._roots: dict[int, RootItem | None] = {}

    def root(self, tree: int) -> RootItem | None:
        """The newest ROOT_ITEM of a tree (snapshots carry their creation transid as
        offset), or None when the tree does not exist."""
        if tree in self._roots:
            return self._roots[tree]
        sb = self.superblock
        found = None
        for _key, data in self.trees.items(
            sb.root, sb.root_level, (tree, ROOT_ITEM, 0), (tree, ROOT_ITEM, KEY_MAX)
        ):
            found = parse_root_item(data)
        if len(self._roots) < MAX_SUBVOLUMES:
            self._roots[tree] = found
        return found

    def default_subvolume(self) -> int:
        """The tree id a plain mount shows: the "default" entry of the root tree's
        directory (set by ``btrfs subvolume set-default``), else the top level."""
        sb = self.superblock
        for _key, data in self.trees.items(
            sb.root,
            sb.root_level,
            (ROOT_TREE_DIR, DIR_ITEM, 0),
            (ROOT_TREE_DIR, DIR_ITEM, KEY_MAX),
        ):
            for entry in parse_dir_entries(data):
                if entry.name == b"default" and entry.location[1] == ROOT_ITEM:
                    return entry.location[0]
        return FS_TREE

    def subvolumes(self) -> list[tuple[int, int, str]]:
        """(tree id, parent tree id, name in its parent directory) of every subvolume and
        snapshot, by tree id."""
        sb = self.superblock
        found: list[tuple[int, int, str]] = []
        for key, data in self.trees.items(
            sb.root, sb.root_level, (FIRST_FREE, ROOT_BACKREF, 0), (LAST_FREE, 0, 0)
        ):
            if key[1] != ROOT_BACKREF:
                continue
            if len(found) >= MAX_SUBVOLUMES:
                raise LimitExceeded(f"btrfs has more than {MAX_SUBVOLUMES} subvolumes")
            name = parse_root_ref(data)[1].decode("utf-8", "replace")
            found.append((key[0], key[2], name))
        return found

    def require_root(self, tree: int) -> RootItem:
        """The root of a tree that must exist."""
        found = self.root(tree)
        if found is None:
            raise CorruptImage(f"btrfs subvolume {tree} has no root item")
        return found

    def device_ranges(self, logical: int, length: int) -> Iterator[tuple[int, int]]:
        """(device offset, length) of every copy of the logical bytes, run by run."""
        while length > 0:
            copies = self.chunks.find(logical).copies(logical)
            n = min(copies[0][1], length)
            for physical, _run in copies:
                yield physical, n
            logical += n
            length -= n

    def read_logical(self, logical: int, length: int) -> bytes:
        """Bytes at a logical address, through the chunk map (first copy of each run)."""
        parts: list[bytes] = []
        while length > 0:
            physical, n = self.chunks.device_run(logical, length)
            data = self.source.read_at(physical, n)
            if n == length and not parts and len(data) == n:
                return data  # one run (nearly every read): no list to join
            if len(data) < n:
                raise CorruptImage(f"btrfs extent at logical {logical} is past the device end")
            parts.append(data)
            logical += n
            length -= n
        return b"".join(parts)
