"""The BeOS/Haiku file system (blkid: ``befs``), checked as libblkid checks it.

blkid names a BFS volume only when its superblock holds (three magic numbers, a byte-order
mark, a block size of 1 to 8 KiB) and the root directory's volume id can be looked for: the
root inode must be where the superblock says, and when its small-data area does not carry
``be:volume_id``, its attribute directory's inode and B+tree header must be there. vmguard
stops at that header (blkid also walks the tree's nodes).

Reads the superblock from the caller's first 68 KiB, then at most 64 KiB of the root inode
and 60 bytes of two more places; every offset comes from the volume and is checked against
its size first. Nothing is followed twice: no loop can form.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vmguard.disk.source import ByteSource

_MAGICS = (0x42465331, 0x42494745, 0xDD121031, 0x15B6830E)
"""magic1 ("BFS1"), the byte-order mark ("BIGE"), magic2 and magic3."""
_INODE_MAGIC = 0x3BBE0AD9
_BPLUSTREE_MAGIC = 0x69F6C2E8
_INODE_HEADER = 232
"""Bytes before an inode's small-data area."""
_MAX_INODE_READ = 64 * 1024
_VOLUME_ID = (0x554C4C47, b"be:volume_id", 8)
"""The small-data item blkid looks for: type ULLG (uint64), name, 8 data bytes."""


@dataclass(frozen=True, slots=True)
class _Volume:
    source: ByteSource
    order: str
    ag_shift: int
    block_shift: int

    def run(self, raw: bytes) -> tuple[int, int] | None:
        """(offset, length) in bytes of a block run, when it lies in the volume."""
        group, start, length = struct.unpack_from(self.order + "iHH", raw)
        if group < 0 or not 0 <= self.ag_shift < 64:
            return None
        at = (group << self.ag_shift << self.block_shift) + (start << self.block_shift)
        size = length << self.block_shift
        return (at, size) if at + size <= self.source.size else None

    def inode(self, raw_run: bytes, length: int) -> bytes | None:
        """Up to ``length`` bytes of the inode a block run points to, if it has the magic."""
        run = self.run(raw_run)
        if run is None or run[1] < 60:
            return None
        inode = self.source.read_at(run[0], max(60, min(length, run[1])))
        magic_ok = len(inode) >= 60 and self.u32(inode, 0) == _INODE_MAGIC
        return inode if magic_ok else None

    def u32(self, raw: bytes, at: int) -> int:
        value: int = struct.unpack_from(self.order + "I", raw, at)[0]
        return value


def is_befs(source: ByteSource, head: bytes) -> bool:
    """A BFS volume, as ``blkid -p`` names one (``head``: the volume's first 68 KiB)."""
    if source.size < 1440 * 1024:
        return False
    first = next(
        (at - 32 for at in (32, 544) for magic in (b"BFS1", b"1SFB") if head[at : at + 4] == magic),
        None,
    )
    if first is None:
        return False
    sb = head[first : first + 128]
    for order in "<>":
        (magic1, byte_order, block_size, block_shift) = struct.unpack_from(order + "4I", sb, 32)
        (magic2,) = struct.unpack_from(order + "I", sb, 68)
        (ag_shift,) = struct.unpack_from(order + "i", sb, 76)
        (magic3,) = struct.unpack_from(order + "I", sb, 112)
        if (magic1, byte_order, magic2, magic3) != _MAGICS:
            continue
        if not 10 <= block_shift <= 13 or block_size != 1 << block_shift:
            return False
        return _volume_id_findable(_Volume(source, order, ag_shift, block_shift), sb[116:124])
    return False


def _volume_id_findable(volume: _Volume, root_run: bytes) -> bool:
    root = volume.inode(root_run, _MAX_INODE_READ)
    if root is None:
        return False
    if _has_small_volume_id(volume, root) or root[52:60] == bytes(8):
        return True
    attributes = volume.inode(root[52:60], 216)
    return attributes is not None and _bplustree_header_at(volume, attributes)


def _has_small_volume_id(volume: _Volume, inode: bytes) -> bool:
    """Whether the inode's small-data area holds a non-zero ``be:volume_id``."""
    (inode_size,) = struct.unpack_from(volume.order + "i", inode, 64)
    area = inode[_INODE_HEADER:]
    total = len(area) if inode_size < 0 else min(len(area), inode_size)
    kind, name, data_size = _VOLUME_ID
    at = 0
    while at + 8 <= total:
        item_type, name_size, item_data = struct.unpack_from(volume.order + "IHH", area, at)
        item_size = 8 + name_size + 3 + item_data + 1
        if at + item_size > total or (item_type, name_size, item_data) == (0, 0, 0):
            return False
        if (item_type, name_size, item_data) == (kind, len(name), data_size) and area[
            at + 8 : at + 9 + len(name)
        ] == name + b"\0":
            value = area[at + 8 + name_size + 3 : at + 8 + name_size + 3 + data_size]
            return value != bytes(data_size)
        at += item_size
    return False


def _bplustree_header_at(volume: _Volume, inode: bytes) -> bool:
    """The B+tree header at the start of an attribute directory's first direct run."""
    (max_direct,) = struct.unpack_from(volume.order + "q", inode, 168)
    if max_direct <= 0:
        return False
    for index in range(12):
        raw = inode[72 + 8 * index : 80 + 8 * index]
        if raw[6:8] == bytes(2):  # an empty run: blkid moves on to the next
            continue
        run = volume.run(raw)
        if run is None or run[1] < 48:
            return False
        return volume.u32(volume.source.read_at(run[0], 48).ljust(4, b"\0"), 0) == _BPLUSTREE_MAGIC
    return False
