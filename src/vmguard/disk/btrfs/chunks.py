"""The btrfs chunk map: logical addresses to byte offsets on the one device read.

Chunks come from the superblock's system chunk array and the chunk tree. Profiles SINGLE,
DUP, RAID1, RAID1C3, RAID1C4, RAID0 and RAID10 are mapped when every stripe lives on this
device; a stripe on another device means a multi-device filesystem, which is refused, and a
stripe past the end of the device is refused before anything is read through it.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from vmguard.disk.errors import CorruptImage, LimitExceeded, UnsupportedFormat

CHUNK_ITEM_KEY: Final = 228
MAX_CHUNKS: Final = 1 << 16
MAX_STRIPES: Final = 64

BLOCK_GROUP_DATA: Final = 0x1
BLOCK_GROUP_SYSTEM: Final = 0x2
BLOCK_GROUP_METADATA: Final = 0x4
_RAID0: Final = 0x8
_RAID1: Final = 0x10
_DUP: Final = 0x20
_RAID10: Final = 0x40
_RAID5: Final = 0x80
_RAID6: Final = 0x100
_RAID1C3: Final = 0x200
_RAID1C4: Final = 0x400
_MIRRORED: Final = _RAID1 | _DUP | _RAID1C3 | _RAID1C4

_CHUNK: Final = struct.Struct("<QQQQIIIHH")
_STRIPE: Final = struct.Struct("<QQ16s")
_KEY: Final = struct.Struct("<QBQ")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk: ``length`` logical bytes from ``logical``, laid out over its stripes."""

    logical: int
    length: int
    flags: int
    stripe_len: int
    sub_stripes: int
    stripes: tuple[int, ...]
    """Physical offset of each stripe on this device."""

    @property
    def stripe_bytes(self) -> int:
        """Bytes each stripe occupies on the device."""
        if self.flags & _RAID0:
            return -(-self.length // len(self.stripes))
        if self.flags & _RAID10:
            return -(-self.length // (len(self.stripes) // self.sub_stripes))
        return self.length

    def first_copy(self, logical: int) -> tuple[int, int]:
        """``copies(logical)[0]``, without building the list (every file read asks)."""
        if self.flags & (_RAID0 | _RAID10):
            return self.copies(logical)[0]
        offset = logical - self.logical
        return self.stripes[0] + offset, self.length - offset

    def copies(self, logical: int) -> list[tuple[int, int]]:
        """(physical offset, bytes contiguous there) of each copy of ``logical``."""
        offset = logical - self.logical
        if self.flags & (_RAID0 | _RAID10):
            groups = len(self.stripes) // (self.sub_stripes if self.flags & _RAID10 else 1)
            width = len(self.stripes) // groups
            number, within = divmod(offset, self.stripe_len)
            row, column = divmod(number, groups)
            base = row * self.stripe_len + within
            run = self.stripe_len - within
            first = column * width
            return [(self.stripes[first + i] + base, run) for i in range(width)]
        run = self.length - offset
        if self.flags & _MIRRORED:
            return [(stripe + offset, run) for stripe in self.stripes]
        return [(self.stripes[0] + offset, run)]


def parse_chunk(logical: int, data: bytes, devid: int, device_size: int) -> Chunk:
    """A chunk item's payload, checked against this device; refusals name the problem."""
    if len(data) < _CHUNK.size:
        raise CorruptImage(f"btrfs chunk at logical {logical} is truncated")
    length, _owner, stripe_len, flags, _al, _wd, _ss, count, sub = _CHUNK.unpack_from(data)
    if count == 0 or count > MAX_STRIPES or len(data) < _CHUNK.size + count * _STRIPE.size:
        raise CorruptImage(f"btrfs chunk at logical {logical} has {count} stripes")
    if length == 0 or stripe_len == 0 or stripe_len & (stripe_len - 1):
        raise CorruptImage(f"btrfs chunk at logical {logical} has an invalid geometry")
    if flags & (_RAID5 | _RAID6):
        raise UnsupportedFormat("btrfs RAID5/6 chunks are not read by vmguard")
    if flags & _RAID10 and (sub < 2 or count % sub):
        raise CorruptImage(f"btrfs RAID10 chunk at logical {logical} has an invalid layout")
    offsets = []
    for i in range(count):
        stripe_dev, offset, _uuid = _STRIPE.unpack_from(data, _CHUNK.size + i * _STRIPE.size)
        if stripe_dev != devid:
            raise UnsupportedFormat(
                "btrfs filesystem spans several devices (a chunk lives on device "
                f"{stripe_dev}); multi-device btrfs is not read"
            )
        offsets.append(offset)
    chunk = Chunk(logical, length, flags, stripe_len, sub or 1, tuple(offsets))
    for offset in offsets:
        if offset + chunk.stripe_bytes > device_size:
            raise CorruptImage(
                f"btrfs chunk at logical {logical} maps past the end of the device "
                f"({offset + chunk.stripe_bytes} > {device_size})"
            )
    return chunk


class ChunkMap:
    """Sorted, non-overlapping chunks; lookups by logical address."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._chunks: list[Chunk] = []

    def add(self, chunk: Chunk) -> None:
        """Insert a chunk; one that overlaps another is refused (or ignored if identical)."""
        i = bisect.bisect_right(self._starts, chunk.logical)
        if i > 0 and self._chunks[i - 1] == chunk:
            return
        if len(self._chunks) >= MAX_CHUNKS:
            raise LimitExceeded(f"btrfs has more than {MAX_CHUNKS} chunks")
        before = self._chunks[i - 1] if i > 0 else None
        after = self._chunks[i] if i < len(self._chunks) else None
        if (before and before.logical + before.length > chunk.logical) or (
            after and chunk.logical + chunk.length > after.logical
        ):
            raise CorruptImage(f"btrfs chunk at logical {chunk.logical} overlaps another")
        self._starts.insert(i, chunk.logical)
        self._chunks.insert(i, chunk)

    def __iter__(self) -> Iterator[Chunk]:
        return iter(self._chunks)

    def device_run(self, logical: int, wanted: int) -> tuple[int, int]:
        """(physical offset, bytes contiguous there, up to ``wanted``) of the first copy of
        ``logical``, the run continued into the following chunks while they lie end to end
        on the device as they do logically (how mkfs and the kernel allocate a new
        filesystem's chunks): a large file is then one read, not one per chunk joined."""
        i = self._index(logical)
        chunk = self._chunks[i]
        physical, run = chunk.first_copy(logical)
        while run < wanted and i + 1 < len(self._chunks):
            after = self._chunks[i + 1]
            if (
                after.logical != chunk.logical + chunk.length
                or after.flags & (_RAID0 | _RAID10)
                or chunk.flags & (_RAID0 | _RAID10)
                or after.stripes[0] != physical + run
            ):
                break
            run += after.length
            chunk, i = after, i + 1
        return physical, min(run, wanted)

    def find(self, logical: int) -> Chunk:
        """The chunk holding ``logical``; ``CorruptImage`` when no chunk maps it."""
        return self._chunks[self._index(logical)]

    def _index(self, logical: int) -> int:
        """Where the chunk holding ``logical`` is in the map; ``CorruptImage`` when none."""
        i = bisect.bisect_right(self._starts, logical) - 1
        if i < 0 or logical >= self._chunks[i].logical + self._chunks[i].length:
            raise CorruptImage(f"btrfs logical address {logical} is in no chunk")
        return i


def parse_sys_chunk_array(array: bytes, devid: int, device_size: int) -> ChunkMap:
    """The bootstrap chunks stored in the superblock (enough to read the chunk tree)."""
    chunks = ChunkMap()
    pos = 0
    while pos < len(array):
        if pos + _KEY.size + _CHUNK.size > len(array):
            raise CorruptImage("btrfs system chunk array is truncated")
        _objectid, key_type, logical = _KEY.unpack_from(array, pos)
        if key_type != CHUNK_ITEM_KEY:
            raise CorruptImage(f"btrfs system chunk array holds item type {key_type}")
        pos += _KEY.size
        count = struct.unpack_from("<H", array, pos + 44)[0]
        size = _CHUNK.size + count * _STRIPE.size
        chunks.add(parse_chunk(logical, array[pos : pos + size], devid, device_size))
        pos += size
    return chunks
