"""The guest-visible disk of a qcow2 image: L1/L2 mapping, reads and allocation map.

Every host offset taken from an L2 table is checked when used: an L2 table or a cluster past
the end of its file raises ``CorruptImage`` naming the guest offset. Decoded L2 tables live
in a bounded LRU; nothing here iterates per virtual cluster outside allocated L2 tables, and
nothing here opens a file (the data file and backing disk arrive already opened).
"""

from __future__ import annotations

import bisect
import heapq
import sys
from array import array
from collections import OrderedDict
from collections.abc import Iterator
from typing import Final

from vmguard.disk.containers.qcow2_compressed import Inflater
from vmguard.disk.containers.qcow2_header import Qcow2Header
from vmguard.disk.errors import CorruptImage
from vmguard.disk.limits import Limits
from vmguard.disk.source import ByteSource, DataRange, SparseSource, clamp

_U64 = next(code for code in ("Q", "L") if array(code).itemsize == 8)
_SWAP = sys.byteorder == "little"

_L1_OFFSET_MASK: Final = 0x00FF_FFFF_FFFF_FE00
_L2_OFFSET_MASK: Final = 0x00FF_FFFF_FFFF_FE00
_COPIED: Final = 1 << 63
_COMPRESSED: Final = 1 << 62
_ZERO: Final = 1
_SUBCLUSTER_BITS: Final = 5  # 32 subclusters per cluster with extended L2 entries
_ALL_SUBCLUSTERS: Final = 0xFFFF_FFFF

# Kinds of guest extents.
_DATA: Final = 0  # host bytes in the image or the external data file
_ZERO_KIND: Final = 1  # reads as zeros
_UNALLOCATED: Final = 2  # backing file, or zeros
_COMPRESSED_KIND: Final = 3  # one compressed cluster; "host" is its L2 descriptor

_Extent = tuple[int, int, int, int]  # guest offset, length, kind, host offset/descriptor


def decode_u64_be(raw: bytes) -> array[int]:
    table = array(_U64, raw)
    if _SWAP:
        table.byteswap()
    return table


class Qcow2Disk:
    """The guest-visible disk of a qcow2 image: a ``ByteSource`` and ``SparseSource``."""

    def __init__(
        self,
        *,
        image: ByteSource,
        header: Qcow2Header,
        l1: array[int],
        data: ByteSource,
        backing: ByteSource | None,
        inflate: Inflater,
        limits: Limits,
    ) -> None:
        self._image = image
        self._data = data
        self._backing = backing
        self._inflate = inflate
        # qemu counts whole sectors: a header size that is not a multiple of 512 exposes only
        # its whole sectors (and a backing file shows zeros past its own rounded size).
        self._size = header.virtual_size // 512 * 512
        self._l1 = l1
        self._cb = header.cluster_bits
        self._cs = header.cluster_size
        self._extended = header.extended_l2
        entry_bits = 4 if self._extended else 3
        self._span_bits = 2 * self._cb - entry_bits  # guest bytes mapped by one L2 table
        self._l2_mask = (1 << (self._cb - entry_bits)) - 1
        self._has_data_file = header.has_data_file
        self._csize_shift = 62 - (self._cb - 8)
        self._cache: OrderedDict[int, array[int]] = OrderedDict()
        self._cache_cap = max(
            1, min(limits.max_table_cache_entries, limits.max_table_bytes // self._cs)
        )
        self._last_inflated: tuple[int, bytes] = (-1, b"")
        self._data_map: tuple[list[int], list[int]] | None = None

    @property
    def size(self) -> int:
        """Virtual size of the disk in bytes."""
        return self._size

    def read_at(self, offset: int, length: int) -> bytes:
        """Guest bytes at ``offset``; raises CorruptImage naming the guest offset at fault."""
        n = clamp(offset, length, self._size)
        if n == 0:
            return b""
        host = self._contiguous_host(offset, n)
        if host >= 0:
            data = self._data.read_at(host, n)
            if len(data) == n:
                return data  # else the general path below names the cluster at fault
        parts = []
        for guest, count, kind, host in self._extents(offset, offset + n):
            if kind == _DATA:
                chunk = self._data.read_at(host, count)
                if len(chunk) != count:
                    raise CorruptImage(
                        f"qcow2 cluster for guest offset {guest + len(chunk):#x} lies beyond "
                        f"the end of the {'data file' if self._has_data_file else 'image'} "
                        f"(host offset {host + len(chunk):#x})"
                    )
            elif kind == _ZERO_KIND:
                chunk = bytes(count)
            elif kind == _UNALLOCATED:
                chunk = self._read_backing(guest, count)
            else:
                cluster = self._inflated(guest, host)
                within = guest & (self._cs - 1)
                chunk = cluster[within : within + count]
            parts.append(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def data_ranges(self) -> Iterator[DataRange]:
        """Guest ranges that may hold data: allocated clusters, merged with the backing's."""
        own = self._own_ranges()
        if self._backing is None:
            yield from own
            return
        merged = heapq.merge(own, self._backing_ranges(), key=lambda r: r.offset)
        start = end = -1
        for r in merged:
            if r.offset <= end:
                end = max(end, r.offset + r.length)
                continue
            if end > start:
                yield DataRange(start, end - start)
            start, end = r.offset, r.offset + r.length
        if end > start:
            yield DataRange(start, end - start)

    # -- mapping ------------------------------------------------------------------------

    def _contiguous_host(self, offset: int, n: int) -> int:
        """Host offset of ``[offset, offset + n)`` when one L2 table maps all of it to
        consecutive allocated clusters (what a filesystem read nearly always meets: one
        pread, no generators); -1 for anything else, which ``_extents`` then handles."""
        cb, span_bits = self._cb, self._span_bits
        end = offset + n - 1
        if self._extended or self._has_data_file or offset >> span_bits != end >> span_bits:
            return -1
        table = self._l2_table(offset >> span_bits, offset)
        if table is None:
            return -1
        first = (offset >> cb) & self._l2_mask
        entry = table[first]
        host = entry & _L2_OFFSET_MASK
        if entry & (_COMPRESSED | _ZERO) or host == 0 or host & (self._cs - 1):
            return -1
        following = host
        for index in range(first + 1, ((end >> cb) & self._l2_mask) + 1):
            following += self._cs
            entry = table[index]
            if entry & (_COMPRESSED | _ZERO) or entry & _L2_OFFSET_MASK != following:
                return -1
        return host + (offset & (self._cs - 1))

    def _l2_table(self, l1_index: int, guest: int) -> array[int] | None:
        offset = self._l1[l1_index] & _L1_OFFSET_MASK
        if offset == 0:
            return None
        table = self._cache.get(offset)
        if table is not None:
            self._cache.move_to_end(offset)
            return table
        if offset & (self._cs - 1):
            raise CorruptImage(
                f"qcow2 L2 table offset {offset:#x} unaligned (L1 index {l1_index}, "
                f"guest offset {guest:#x})"
            )
        raw = self._image.read_at(offset, self._cs)
        if len(raw) != self._cs:
            raise CorruptImage(
                f"qcow2 L2 table at host offset {offset:#x} for guest offset {guest:#x} "
                "exceeds the end of the file"
            )
        table = decode_u64_be(raw)
        self._cache[offset] = table
        if len(self._cache) > self._cache_cap:
            self._cache.popitem(last=False)
        return table

    def _pieces(self, pos: int, end: int) -> Iterator[_Extent]:
        """Per-cluster (or per-subcluster-run) extents of ``[pos, end)``, unmerged."""
        cb, cs = self._cb, self._cs
        span_bits = self._span_bits
        while pos < end:
            l1_index = pos >> span_bits
            table_end = min(end, (l1_index + 1) << span_bits)
            table = self._l2_table(l1_index, pos)
            if table is None:
                yield pos, table_end - pos, _UNALLOCATED, 0
                pos = table_end
                continue
            index = (pos >> cb) & self._l2_mask
            while pos < table_end:
                base = (pos >> cb) << cb
                stop = min(table_end, base + cs)
                if self._extended:
                    yield from self._extended_pieces(table, index, pos, stop, base)
                else:
                    entry = table[index]
                    if entry & _COMPRESSED:
                        yield pos, stop - pos, _COMPRESSED_KIND, entry
                    elif entry & _ZERO:
                        yield pos, stop - pos, _ZERO_KIND, 0
                    else:
                        host = self._host_offset(entry, pos)
                        if host < 0:
                            yield pos, stop - pos, _UNALLOCATED, 0
                        else:
                            yield pos, stop - pos, _DATA, host + pos - base
                pos = stop
                index += 1

    def _host_offset(self, entry: int, guest: int) -> int:
        """Host cluster offset of a standard L2 entry, or -1 when unallocated."""
        host = entry & _L2_OFFSET_MASK
        if host == 0 and not (self._has_data_file and entry & _COPIED):
            return -1
        if host & (self._cs - 1):
            raise CorruptImage(
                f"qcow2 cluster offset {host:#x} unaligned for guest offset {guest:#x}"
            )
        return host

    def _extended_pieces(
        self, table: array[int], index: int, pos: int, stop: int, base: int
    ) -> Iterator[_Extent]:
        entry, bitmap = table[2 * index], table[2 * index + 1]
        if entry & _COMPRESSED:  # compressed clusters have no subclusters
            yield pos, stop - pos, _COMPRESSED_KIND, entry
            return
        host = self._host_offset(entry, pos)
        allocated, zeros = bitmap & _ALL_SUBCLUSTERS, bitmap >> 32
        if allocated & zeros or (host < 0 and allocated):
            raise CorruptImage(
                f"qcow2 invalid subcluster bitmap {bitmap:#018x} for guest offset {pos:#x}"
            )
        sc_bits = self._cb - _SUBCLUSTER_BITS
        sub = (pos - base) >> sc_bits
        while pos < stop:
            bit = 1 << sub
            sub_stop = min(stop, base + ((sub + 1) << sc_bits))
            if zeros & bit:
                yield pos, sub_stop - pos, _ZERO_KIND, 0
            elif allocated & bit:
                yield pos, sub_stop - pos, _DATA, host + pos - base
            else:
                yield pos, sub_stop - pos, _UNALLOCATED, 0
            pos = sub_stop
            sub += 1

    def _extents(self, pos: int, end: int) -> Iterator[_Extent]:
        """``_pieces`` with neighbours of one kind merged (contiguous host bytes for data)."""
        cur_guest = cur_len = cur_host = 0
        cur_kind = -1
        for guest, count, kind, host in self._pieces(pos, end):
            if (
                kind == cur_kind
                and kind != _COMPRESSED_KIND
                and (kind != _DATA or host == cur_host + cur_len)
            ):
                cur_len += count
                continue
            if cur_kind >= 0:
                yield cur_guest, cur_len, cur_kind, cur_host
            cur_guest, cur_len, cur_kind, cur_host = guest, count, kind, host
        if cur_kind >= 0:
            yield cur_guest, cur_len, cur_kind, cur_host

    # -- reading ------------------------------------------------------------------------

    def _read_backing(self, guest: int, count: int) -> bytes:
        if self._backing is None:
            return bytes(count)
        chunk = self._backing.read_at(guest, count)
        if len(chunk) < count:  # the backing file is smaller than this image
            chunk += bytes(count - len(chunk))
        return chunk

    def _inflated(self, guest: int, descriptor: int) -> bytes:
        """The whole guest cluster of a compressed descriptor (last one cached)."""
        if self._last_inflated[0] == descriptor:
            return self._last_inflated[1]
        if self._has_data_file:
            raise CorruptImage(
                f"qcow2 compressed cluster at guest offset {guest:#x} in an image with an "
                "external data file"
            )
        shift = self._csize_shift
        offset = descriptor & ((1 << shift) - 1)
        sectors = ((descriptor >> shift) & ((1 << (self._cb - 8)) - 1)) + 1
        length = sectors * 512 - (offset & 511)
        # The last compressed cluster may end inside its final sector, at the end of the file.
        compressed = self._image.read_at(offset, length)
        if not compressed:
            raise CorruptImage(
                f"qcow2 compressed cluster for guest offset {guest:#x} starts beyond the end "
                f"of the file (host offset {offset:#x})"
            )
        try:
            cluster = self._inflate(compressed, self._cs)
        except CorruptImage as err:
            raise CorruptImage(f"qcow2 guest offset {guest:#x}: {err}") from err
        self._last_inflated = (descriptor, cluster)
        return cluster

    # -- allocation map -----------------------------------------------------------------

    def _own_ranges(self) -> Iterator[DataRange]:
        l1, span_bits = self._l1, self._span_bits
        chunk = 4096
        empty = array(_U64, bytes(8 * chunk))
        start = length = 0
        for first in range(0, len(l1), chunk):
            block = l1[first : first + chunk]
            if block == empty[: len(block)]:
                continue
            for l1_index in range(first, first + len(block)):
                if not l1[l1_index] & _L1_OFFSET_MASK:
                    continue
                lo = l1_index << span_bits
                hi = min(self._size, (l1_index + 1) << span_bits)
                for guest, count, kind, host in self._pieces(lo, hi):
                    if kind not in (_DATA, _COMPRESSED_KIND):
                        continue
                    pieces = (
                        self._held_by_data_file(guest, count, host)
                        if kind == _DATA and self._has_data_file
                        else ((guest, count),)
                    )
                    for piece_start, piece_length in pieces:
                        if piece_start == start + length:
                            length += piece_length
                            continue
                        if length:
                            yield DataRange(start, length)
                        start, length = piece_start, piece_length
        if length:
            yield DataRange(start, length)

    def _held_by_data_file(self, guest: int, count: int, host: int) -> Iterator[tuple[int, int]]:
        """Guest sub-ranges of a data-file extent where the data file is not a hole.

        Host offsets are used, not the spec's host == guest promise: a crafted mapping must
        not hide data from a scanner.
        """
        if self._data_map is None:
            starts: list[int] = []
            ends: list[int] = []
            if isinstance(self._data, SparseSource):
                for r in self._data.data_ranges():
                    starts.append(r.offset)
                    ends.append(r.offset + r.length)
            else:
                starts, ends = [0], [self._data.size]
            self._data_map = (starts, ends)
        starts, ends = self._data_map
        index = bisect.bisect_right(ends, host)
        while index < len(starts) and starts[index] < host + count:
            lo, hi = max(starts[index], host), min(ends[index], host + count)
            yield guest + lo - host, hi - lo
            index += 1

    def _backing_ranges(self) -> Iterator[DataRange]:
        backing = self._backing
        assert backing is not None
        limit = min(self._size, backing.size)
        if not isinstance(backing, SparseSource):
            if limit:
                yield DataRange(0, limit)
            return
        for r in backing.data_ranges():
            if r.offset >= limit:
                break
            yield DataRange(r.offset, min(r.length, limit - r.offset))
