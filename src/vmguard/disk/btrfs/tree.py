"""btrfs B-trees: tree blocks read through the chunk map, checked, searched by key range.

Every block is checked before use: checksum (the next mirror is tried when one fails), the
address and fsid it claims, its level (a child is exactly one level below its parent, so a
descent cannot loop) and its item count and item offsets (inside the block). A range scan
refuses to meet the same block twice, which cuts cycles and shared-subtree amplification.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from vmguard.disk.btrfs.checksum import checksum_matches
from vmguard.disk.btrfs.chunks import ChunkMap
from vmguard.disk.errors import CorruptImage, LimitExceeded
from vmguard.disk.source import ByteSource
from vmguard.native import build_wanted

Key = tuple[int, int, int]
"""(objectid, type, offset): the sort order of every btrfs tree."""

HEADER_SIZE: Final = 101
MAX_LEVEL: Final = 8
MAX_BLOCKS_PER_SCAN: Final = 1 << 20
CACHE_BYTES: Final = 64 * 1024 * 1024
"""Tree blocks kept parsed, and separately leaves kept indexed: each at most this much."""
_HEADER: Final = struct.Struct("<32s16sQQ16sQQIB")
_LEAF_ITEM: Final = struct.Struct("<QBQII")
_LEAF_KEY: Final = struct.Struct("<QBQ8x")
"""A leaf item's key alone: unpacked straight into the (objectid, type, offset) tuples."""
_LEAF_PLACE: Final = struct.Struct("<17xII")
"""A leaf item's payload offset and size."""
_NODE_PTR: Final = struct.Struct("<QBQQQ")
KEY_MAX: Final = 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True, slots=True)
class TreeBlock:
    """A checked tree block: keys in order and, per key, a child pointer or item bytes."""

    address: int
    level: int
    owner: int
    keys: tuple[Key, ...]
    children: tuple[int, ...]
    """Child block addresses (internal nodes only)."""
    items: tuple[bytes, ...]
    """Item payloads (leaves only).

    Tuples, not lists: once Python's cycle collector has seen that a tuple holds only numbers
    and bytes it stops tracking it, so a cache of thousands of parsed blocks costs the later
    collections nothing (lists it would walk item by item at every full collection: a sixth
    of a btrfs walk's time)."""


LeafItems = tuple[tuple[Key, ...], tuple[bytes, ...]]
"""A leaf's keys and item payloads, in order."""


def parse_items(raw: bytes, header: int, count: int, body: int) -> LeafItems | None:
    """The keys and payloads of the ``count`` items of a leaf block ``raw``, whose payload
    offsets count from the end of its ``header``; None when a payload ends more than
    ``body`` bytes after it. ``count`` fits the block (the caller checked).

    The interpreted twin of ``_leaf.c``'s ``parse_items``, which the compiled build uses
    instead (tests hold the two to the same answers)."""
    table = raw[header : header + count * _LEAF_ITEM.size]
    keys = tuple(_LEAF_KEY.iter_unpack(table))
    # Typed as numbers, the loop compiles to machine arithmetic and byte slicing.
    places: list[tuple[int, int]] = list(_LEAF_PLACE.iter_unpack(table))
    items: list[bytes] = []
    for start, size in places:
        stop = start + size
        if stop > body:
            return None
        items.append(raw[header + start : header + stop])
    return keys, tuple(items)


_parse_items: Callable[[bytes, int, int, int], LeafItems | None]
if build_wanted():
    from vmguard.disk.btrfs._leaf import parse_items as _parse_items
else:
    _parse_items = parse_items


class TreeReader:
    """Reads and caches tree blocks of one filesystem."""

    def __init__(
        self,
        source: ByteSource,
        chunks: ChunkMap,
        *,
        nodesize: int,
        csum_type: int,
        fsid: bytes,
    ) -> None:
        self.source = source
        self.chunks = chunks
        self.nodesize = nodesize
        self.csum_type = csum_type
        self.fsid = fsid
        self._cache: dict[int, TreeBlock] = {}
        self._max_blocks = max(CACHE_BYTES // nodesize, 64)
        self._leaves: dict[int, tuple[list[Key], list[TreeBlock]]] = {}
        """Per tree root, the leaves searches reached, by first key (see ``_known_leaf``)."""

    def _raw_block(self, address: int) -> bytes:
        chunk = self.chunks.find(address)
        if address + self.nodesize > chunk.logical + chunk.length:
            raise CorruptImage(f"btrfs tree block at {address} crosses the end of its chunk")
        for physical, run in chunk.copies(address):
            if run < self.nodesize:
                raise CorruptImage(f"btrfs tree block at {address} crosses a stripe")
            raw = self.source.read_at(physical, self.nodesize)
            if len(raw) == self.nodesize and checksum_matches(raw, self.csum_type):
                return raw
        raise CorruptImage(f"btrfs tree block at {address} fails its checksum")

    def block(self, address: int, level: int | None = None) -> TreeBlock:
        """The checked block at logical ``address`` (``level``: what the parent expects)."""
        cached = self._cache.get(address)
        if cached is None:
            cached = self._parse(address, self._raw_block(address))
            if len(self._cache) >= self._max_blocks:
                # First in, first out: cheaper than LRU bookkeeping on every hit, and the
                # upper levels are re-read at once when evicted.
                del self._cache[next(iter(self._cache))]
            self._cache[address] = cached
        if level is not None and cached.level != level:
            raise CorruptImage(
                f"btrfs tree block at {address} has level {cached.level}, expected {level}"
            )
        return cached

    def _parse(self, address: int, raw: bytes) -> TreeBlock:
        _csum, fsid, bytenr, _flags, _chunk_uuid, _gen, owner, count, level = _HEADER.unpack_from(
            raw
        )
        if bytenr != address:
            raise CorruptImage(f"btrfs tree block at {address} says it lives at {bytenr}")
        if fsid != self.fsid:
            raise CorruptImage(f"btrfs tree block at {address} belongs to another filesystem")
        if level >= MAX_LEVEL:
            raise CorruptImage(f"btrfs tree block at {address} has level {level}")
        body = self.nodesize - HEADER_SIZE
        if level:
            if count > body // _NODE_PTR.size:
                raise CorruptImage(f"btrfs tree node at {address} claims {count} pointers")
            pointers = _NODE_PTR.iter_unpack(
                raw[HEADER_SIZE : HEADER_SIZE + count * _NODE_PTR.size]
            )
            rows = list(pointers)
            keys = tuple([(objectid, kind, offset) for objectid, kind, offset, _c, _g in rows])
            children = tuple([child for _o, _k, _f, child, _g in rows])
            return TreeBlock(address, level, owner, keys, children, ())
        if count > body // _LEAF_ITEM.size:
            raise CorruptImage(f"btrfs tree leaf at {address} claims {count} items")
        parsed = _parse_items(raw, HEADER_SIZE, count, body)
        if parsed is None:
            raise CorruptImage(f"btrfs tree leaf at {address} has an item out of bounds")
        return TreeBlock(address, 0, owner, parsed[0], (), parsed[1])

    def _known_leaf(self, root: int, low: Key, high: Key) -> TreeBlock | None:
        """A leaf met before whose keys strictly enclose ``[low, high]``, or None.

        Leaves partition a tree's key space, so such a leaf holds every item of the range
        and no descent is needed (a walk looks up inode after inode in leaves it has met).
        """
        known = self._leaves.get(root)
        if known is None:
            return None
        starts, leaves = known
        k = bisect.bisect_right(starts, low) - 1
        if k < 0:
            return None
        leaf = leaves[k]
        return leaf if high < leaf.keys[-1] else None

    def _remember_leaf(self, root: int, leaf: TreeBlock) -> None:
        starts, leaves = self._leaves.setdefault(root, ([], []))
        k = bisect.bisect_left(starts, leaf.keys[0])
        if k < len(starts) and starts[k] == leaf.keys[0]:
            leaves[k] = leaf
            return
        if len(starts) >= self._max_blocks:
            starts.clear()
            leaves.clear()
            k = 0
        starts.insert(k, leaf.keys[0])
        leaves.insert(k, leaf)

    def items(
        self, root: int, level: int, low: Key, high: Key = (KEY_MAX, 255, KEY_MAX)
    ) -> Iterator[tuple[Key, bytes]]:
        """Items of the tree at ``root`` with ``low <= key <= high``, in key order."""
        leaf = self._known_leaf(root, low, high)
        if leaf is not None:
            # The common case of a walk: no descent, no generator.
            keys = leaf.keys
            i, j = bisect.bisect_left(keys, low), bisect.bisect_right(keys, high)
            return zip(keys[i:j], leaf.items[i:j], strict=True)
        return self._scanned_items(root, level, low, high)

    def _scanned_items(
        self, root: int, level: int, low: Key, high: Key
    ) -> Iterator[tuple[Key, bytes]]:
        # A generator function, not a generator expression: mypyc compiles the latter into
        # a list, which would read every leaf of the range before the first item (and keep
        # them all, past the cache's bound, on a scan of a large tree).
        for leaf, i, j in self.spans(root, level, low, high):
            yield from zip(leaf.keys[i:j], leaf.items[i:j], strict=True)

    def item_slots(
        self, root: int, level: int, low: Key, high: Key
    ) -> Iterator[tuple[TreeBlock, int]]:
        """(leaf, index) of each item in ``[low, high]``, in key order."""
        for leaf, i, j in self.spans(root, level, low, high):
            for k in range(i, j):
                yield leaf, k

    def spans(
        self, root: int, level: int, low: Key, high: Key
    ) -> Iterator[tuple[TreeBlock, int, int]]:
        """(leaf, first index, end index) of each leaf's run of items in ``[low, high]``, in
        key order (one step per leaf, not per item: a directory listing takes its entries a
        leaf at a time)."""
        leaf = self._known_leaf(root, low, high)
        if leaf is not None:
            keys = leaf.keys
            i, j = bisect.bisect_left(keys, low), bisect.bisect_right(keys, high)
            if i < j:  # an empty range yields nothing, as a descent does
                yield leaf, i, j
            return
        seen: set[int] = set()
        stack: list[tuple[int, int, Key]] = [(root, level, (0, 0, 0))]
        while stack:
            address, expected, floor = stack.pop()
            if address in seen:
                raise CorruptImage(f"btrfs tree block at {address} is reached twice (a cycle)")
            seen.add(address)
            if len(seen) > MAX_BLOCKS_PER_SCAN:
                raise LimitExceeded(f"btrfs tree scan visits more than {MAX_BLOCKS_PER_SCAN}")
            block = self.block(address, expected)
            keys = block.keys
            if keys and keys[0] < floor:
                # A pointer to a block holding other keys: a misdirected or cyclic tree.
                raise CorruptImage(
                    f"btrfs tree block at {address} does not hold the keys its parent names"
                )
            if block.level == 0:
                if keys:
                    self._remember_leaf(root, block)
                i, j = bisect.bisect_left(keys, low), bisect.bisect_right(keys, high)
                if i < j:
                    yield block, i, j
                continue
            # Children whose key range may hold [low, high]: the last one starting <= low,
            # then every one starting <= high. Pushed in reverse so the stack pops in order.
            first = max(bisect.bisect_right(keys, low) - 1, 0)
            last = bisect.bisect_right(keys, high)
            for i in range(last - 1, first - 1, -1):
                stack.append((block.children[i], block.level - 1, keys[i]))

    def first(self, root: int, level: int, low: Key, high: Key) -> tuple[Key, bytes] | None:
        """The first item in ``[low, high]``, or None."""
        return next(self.items(root, level, low, high), None)
