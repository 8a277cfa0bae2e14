"""Unallocated space of a filesystem, from its own allocation maps.

ext2/3/4 block bitmaps, XFS free-space B+trees (by block number), FAT tables and the NTFS
$Bitmap. Every structure is bounds-checked against the volume before it is used; loops and
counts are capped. Nothing here interprets file contents.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

from vmguard.disk.errors import CorruptImage, LimitExceeded
from vmguard.disk.source import ByteSource, DataRange, coalesce

MAX_GROUPS = 1 << 20
MAX_BTREE_BLOCKS = 1 << 20
MAX_BITMAP_BYTES = 512 * 1024 * 1024


def _bitmap_free(
    bitmap: bytes, first: int, count: int, unit: int, base: int
) -> Iterator[tuple[int, int]]:
    """Byte ranges of clear bits (LSB first) in ``bitmap``: bit i is unit ``first + i``."""
    i = 0
    count = min(count, len(bitmap) * 8)
    while i < count:
        byte = bitmap[i >> 3]
        if byte == 0xFF and i & 7 == 0:
            i += 8
            continue
        if byte == 0 and i & 7 == 0 and i + 8 <= count:
            j = i
            while j + 8 <= count and bitmap[j >> 3] == 0:
                j += 8
            yield base + (first + i) * unit, base + (first + j) * unit
            i = j
            continue
        if not byte >> (i & 7) & 1:
            yield base + (first + i) * unit, base + (first + i + 1) * unit
        i += 1


def ext_free(source: ByteSource) -> Iterator[DataRange]:
    """Free blocks of an ext2/3/4 filesystem, from the group descriptors' block bitmaps."""
    sb = source.read_at(1024, 1024)
    if len(sb) < 1024 or sb[56:58] != b"\x53\xef":
        raise CorruptImage("ext superblock not found")
    blocks_lo, first_data, log_bs, per_group = struct.unpack_from("<I12xII4xI", sb, 4)
    incompat = struct.unpack_from("<I", sb, 96)[0]
    is64 = bool(incompat & 0x80)
    blocks = blocks_lo | (struct.unpack_from("<I", sb, 0x150)[0] << 32 if is64 else 0)
    if log_bs > 6 or per_group == 0:
        raise CorruptImage("ext superblock: invalid block size or blocks per group")
    bs = 1024 << log_bs
    desc_size = struct.unpack_from("<H", sb, 254)[0] if is64 else 32
    if desc_size < 32 or desc_size > 1024:
        raise CorruptImage(f"ext superblock: invalid descriptor size {desc_size}")
    groups = (blocks - first_data + per_group - 1) // per_group
    if groups > MAX_GROUPS or blocks * bs > source.size * 2:
        raise LimitExceeded(f"ext filesystem claims {groups} groups / {blocks} blocks")
    table = source.read_at((first_data + 1) * bs, groups * desc_size)
    if len(table) < groups * desc_size:
        raise CorruptImage("ext group descriptor table is truncated")

    def ranges() -> Iterator[tuple[int, int]]:
        for g in range(groups):
            d = table[g * desc_size : (g + 1) * desc_size]
            bitmap_block = struct.unpack_from("<I", d, 0)[0]
            if is64 and desc_size >= 64:
                bitmap_block |= struct.unpack_from("<I", d, 0x20)[0] << 32
            flags = struct.unpack_from("<H", d, 18)[0]
            first = first_data + g * per_group
            count = min(per_group, blocks - first)
            if flags & 0x2:  # BLOCK_UNINIT: nothing allocated yet but group metadata
                yield first * bs, (first + count) * bs
                continue
            if bitmap_block == 0 or bitmap_block >= blocks:
                raise CorruptImage(f"ext group {g}: block bitmap at {bitmap_block} is out of range")
            bitmap = source.read_at(bitmap_block * bs, bs)
            yield from _bitmap_free(bitmap, first, count, bs, 0)

    yield from coalesce(ranges())


def fat_free(source: ByteSource) -> Iterator[DataRange]:
    """Free clusters of a FAT12/16/32 filesystem, from its first FAT."""
    boot = source.read_at(0, 512)
    if len(boot) < 512 or boot[510:512] != b"\x55\xaa":
        raise CorruptImage("FAT boot sector not found")
    bps, spc, reserved, nfats, root_entries, total16 = struct.unpack_from("<HBHBHH", boot, 11)
    fatsz = struct.unpack_from("<H", boot, 22)[0] or struct.unpack_from("<I", boot, 36)[0]
    total = total16 or struct.unpack_from("<I", boot, 32)[0]
    if bps not in (512, 1024, 2048, 4096) or spc == 0 or spc & (spc - 1) or nfats == 0:
        raise CorruptImage("FAT boot sector: invalid geometry")
    root_sectors = (root_entries * 32 + bps - 1) // bps
    data_start = (reserved + nfats * fatsz + root_sectors) * bps
    clusters = (total * bps - data_start) // (spc * bps)
    if clusters <= 0 or fatsz * bps > MAX_BITMAP_BYTES:
        raise CorruptImage("FAT boot sector: no data clusters")
    fat = source.read_at(reserved * bps, fatsz * bps)
    csize = spc * bps

    def entry(n: int) -> int:
        if clusters < 4085:  # FAT12
            pair = fat[n * 3 // 2 : n * 3 // 2 + 2]
            if len(pair) < 2:
                return 1
            v = pair[0] | pair[1] << 8
            return v >> 4 if n & 1 else v & 0xFFF
        if clusters < 65525:
            return struct.unpack_from("<H", fat, n * 2)[0] if n * 2 + 2 <= len(fat) else 1
        return struct.unpack_from("<I", fat, n * 4)[0] & 0x0FFFFFFF if n * 4 + 4 <= len(fat) else 1

    def ranges() -> Iterator[tuple[int, int]]:
        for n in range(2, clusters + 2):
            if entry(n) == 0:
                start = data_start + (n - 2) * csize
                yield start, start + csize

    yield from coalesce(ranges())


def ntfs_free(volume: Any, size: int) -> Iterator[DataRange]:
    """Free clusters of an NTFS volume, from its $Bitmap (read through pyfsntfs)."""
    cluster = int(volume.get_cluster_block_size())
    bitmap_entry = volume.get_file_entry(6)  # MFT entry 6 is $Bitmap
    length = int(bitmap_entry.get_size())
    if length > MAX_BITMAP_BYTES:
        raise LimitExceeded(f"NTFS $Bitmap is {length} bytes")
    bitmap = bitmap_entry.read_buffer_at_offset(length, 0)
    yield from coalesce(_bitmap_free(bitmap, 0, size // cluster, cluster, 0))


def xfs_free(source: ByteSource) -> Iterator[DataRange]:
    """Free extents of an XFS filesystem, from each AG's by-block-number free-space B+tree."""
    sb = source.read_at(0, 512)
    if sb[:4] != b"XFSB":
        raise CorruptImage("XFS superblock not found")
    bs = struct.unpack_from(">I", sb, 4)[0]
    agblocks, agcount = struct.unpack_from(">II", sb, 84)
    sectsize = struct.unpack_from(">H", sb, 102)[0]
    if bs < 512 or bs > 65536 or bs & (bs - 1) or agcount == 0 or agcount > 1 << 16:
        raise CorruptImage("XFS superblock: invalid geometry")
    crc = (struct.unpack_from(">H", sb, 100)[0] & 0xF) >= 5
    hdr = 56 if crc else 16
    extents: list[tuple[int, int]] = []
    visited = 0
    for ag in range(agcount):
        ag_base = ag * agblocks * bs
        agf = source.read_at(ag_base + sectsize, 64)
        if agf[:4] != b"XAGF":
            raise CorruptImage(f"XFS AG {ag}: AGF magic missing")
        root, level = struct.unpack_from(">I", agf, 16)[0], struct.unpack_from(">I", agf, 28)[0]
        stack = [(root, level)]
        while stack:
            block, lvl = stack.pop()
            visited += 1
            if visited > MAX_BTREE_BLOCKS or block >= agblocks or lvl > 8:
                raise CorruptImage(f"XFS AG {ag}: free-space tree is inconsistent")
            node = source.read_at(ag_base + block * bs, bs)
            if node[:4] not in (b"AB3B", b"ABTB"):
                raise CorruptImage(f"XFS AG {ag}: bad free-space tree block {block}")
            level_here, numrecs = struct.unpack_from(">HH", node, 4)
            if level_here == 0:
                for i in range(min(numrecs, (bs - hdr) // 8)):
                    start, count = struct.unpack_from(">II", node, hdr + i * 8)
                    extents.append((ag_base + start * bs, ag_base + (start + count) * bs))
            else:
                maxrecs = (bs - hdr) // 12
                ptrs = hdr + maxrecs * 8
                for i in range(min(numrecs, maxrecs)):
                    stack.append((struct.unpack_from(">I", node, ptrs + i * 4)[0], level_here - 1))
    extents.sort()
    yield from coalesce(iter(extents))
