"""Hosted sparse VMDK extents ("KDMV"): header, grain directory and tables, stream grains.

Covers monolithicSparse, streamOptimized (compressed grains, footer) and the ``-sNNN``
extents of twoGbMaxExtentSparse. Every offset and size read from the file is checked against
the file and ``Limits`` before it is used or anything is allocated, and compressed grains
inflate into at most one grain. This module reads only the ``ByteSource`` it is given: it
must never open a file, and it ignores the embedded descriptor (``vmdk.py`` vets that).
"""

from __future__ import annotations

import struct
import sys
import threading
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, replace

from vmguard.disk.errors import CorruptImage, ImageRefused, LimitExceeded, UnsupportedFormat
from vmguard.disk.limits import Limits
from vmguard.disk.source import ByteSource, DataRange

VMDK_SPARSE_MAGIC = b"KDMV"
VMDK3_MAGIC = b"COWD"
"""ESX 2 / vmfsSparse extents: recognised so they are refused, not read as raw."""
SECTOR = 512
GD_AT_END = 0xFFFF_FFFF_FFFF_FFFF
MAX_GRAIN_SECTORS = 2048
"""Largest grain accepted (1 MiB); qemu and VMware only ever write 128 (64 KiB)."""
MAX_GTES_PER_GT = 512
"""Grain table entries per table; the format fixes 512 and qemu refuses more."""
FLAG_NEWLINE_CHECK = 1 << 0
FLAG_ZERO_GRAIN = 1 << 2
FLAG_MARKERS = 1 << 17
GTE_ZEROED = 1
MARKER_EOS, MARKER_FOOTER = 0, 3
NEWLINE_CHECK = b"\n \r\n"
# magic, version, flags, capacity, grain, desc offset/size, GTEs per GT, rgd, gd,
# grain offset, filler, check bytes, compression: the first 79 bytes of sector 0.
_HEADER = struct.Struct("<4sIIQQQQIQQQB4sH")
_MARKER = struct.Struct("<QII")
_GRAIN_CACHE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SparseHeader:
    """The fields of a KDMV header (or footer) that the reader uses; sizes in sectors."""

    version: int
    flags: int
    capacity: int
    grain_sectors: int
    descriptor_offset: int
    descriptor_sectors: int
    gtes_per_gt: int
    rgd_offset: int
    gd_offset: int
    grain_offset: int
    check_bytes: bytes
    compression: int


def parse_header(raw: bytes) -> SparseHeader:
    """Decode a KDMV header from the first bytes of a sector; no validation yet."""
    if len(raw) < _HEADER.size:
        raise CorruptImage(f"VMDK sparse header truncated: {len(raw)} bytes")
    magic, version, flags, capacity, grain, doff, dsize, gtes, rgd, gd, goff, _, check, comp = (
        _HEADER.unpack_from(raw)
    )
    if magic != VMDK_SPARSE_MAGIC:
        raise CorruptImage(f"not a VMDK sparse extent (magic {magic!r})")
    return SparseHeader(
        version, flags, capacity, grain, doff, dsize, gtes, rgd, gd, goff, check, comp
    )


def read_header(source: ByteSource) -> SparseHeader:
    """Read and validate the header of a sparse extent (the footer's, when it has one)."""
    header = parse_header(source.read_at(0, SECTOR))
    if not 1 <= header.version <= 3:
        raise UnsupportedFormat(f"unsupported VMDK sparse version {header.version}")
    if source.size % SECTOR:
        # qemu places a streamOptimized footer by whole sectors (the size rounded up), this
        # reader by the file's end: a part sector lets the two find different footers.
        raise ImageRefused(f"sparse VMDK of {source.size} bytes is not whole sectors")
    if header.capacity == 0:
        # qemu reads a capacity-0 sparse file as a descriptor file at its descriptor offset
        # (with the extents that text names); refused rather than read as an empty disk.
        raise ImageRefused("sparse VMDK with capacity 0: qemu reads it as a descriptor file")
    if header.gd_offset == GD_AT_END:
        header = _read_footer(source, header)
    grain = header.grain_sectors
    if grain < 1 or grain > MAX_GRAIN_SECTORS or grain & (grain - 1):
        raise CorruptImage(
            f"invalid granularity: grain of {grain} sectors "
            f"(must be a power of two up to {MAX_GRAIN_SECTORS})"
        )
    if not 1 <= header.gtes_per_gt <= MAX_GTES_PER_GT:
        raise CorruptImage(
            f"grain table size too big: {header.gtes_per_gt} entries (1..{MAX_GTES_PER_GT})"
        )
    if header.compression not in (0, 1):
        raise UnsupportedFormat(f"unsupported VMDK grain compression {header.compression}")
    if header.flags & FLAG_NEWLINE_CHECK and header.check_bytes != NEWLINE_CHECK:
        raise CorruptImage("VMDK newline check bytes damaged (file copied in text mode?)")
    if header.grain_offset * SECTOR > source.size:
        raise CorruptImage(
            f"VMDK file truncated: grains start at {header.grain_offset * SECTOR}, "
            f"file is {source.size} bytes"
        )
    return header


def _read_footer(source: ByteSource, header: SparseHeader) -> SparseHeader:
    """streamOptimized: the footer (a header copy with gdOffset) is at end - 1024."""
    if source.size < 4 * SECTOR:
        raise CorruptImage("invalid VMDK footer: file too short for a footer")
    tail = source.read_at(source.size - 3 * SECTOR, 3 * SECTOR)
    _, size, kind = _MARKER.unpack_from(tail, 0)
    eos_value, eos_size, eos_kind = _MARKER.unpack_from(tail, 2 * SECTOR)
    if size != 0 or kind != MARKER_FOOTER:
        raise CorruptImage("invalid VMDK footer: no footer marker at end - 1536")
    if (eos_value, eos_size, eos_kind) != (0, 0, MARKER_EOS):
        raise CorruptImage("invalid VMDK footer: no end-of-stream marker at end - 512")
    if tail[SECTOR : SECTOR + 4] != VMDK_SPARSE_MAGIC:
        raise CorruptImage("invalid VMDK footer: no KDMV magic at end - 1024")
    footer = parse_header(tail[SECTOR : 2 * SECTOR])
    if footer.gd_offset == GD_AT_END:
        raise CorruptImage("invalid VMDK footer: footer has no grain directory offset")
    if replace(footer, gd_offset=GD_AT_END) != header:
        raise CorruptImage("invalid VMDK footer: footer does not match the header")
    return footer


class SparseExtent:
    """Guest bytes of one hosted sparse extent, as ``ByteSource`` and ``SparseSource``.

    Unallocated grains read from ``backing`` at ``backing_base + offset`` (the parent of a
    delta disk) or as zeros; zeroed grains (``GTE == 1`` with the zero-grain flag) always
    read as zeros.
    """

    def __init__(self, source: ByteSource, limits: Limits) -> None:
        self.header = read_header(source)
        self._source = source
        self._backing: ByteSource | None = None
        self._backing_base = 0
        self._size = self.header.capacity * SECTOR
        self._grain = self.header.grain_sectors * SECTOR
        self._per_gt = self.header.gtes_per_gt
        self._compressed = self.header.compression == 1
        self._markers = bool(self.header.flags & FLAG_MARKERS)
        self._zero_grain = bool(self.header.flags & FLAG_ZERO_GRAIN)
        self._directory = self._load_directory(limits)
        self._max_tables = max(1, limits.max_table_cache_entries)
        self._tables: OrderedDict[int, array[int]] = OrderedDict()
        self._max_grains = max(1, _GRAIN_CACHE_BYTES // self._grain)
        self._grains: OrderedDict[int, bytes] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """Virtual size of the extent in bytes (capacity)."""
        return self._size

    def attach_backing(self, backing: ByteSource, base: int) -> None:
        """Read unallocated grains from ``backing`` at ``base + offset`` from now on.

        Called once while the delta disk is opened, after its own structure was validated
        and before the disk is handed out.
        """
        self._backing, self._backing_base = backing, base

    def _load_directory(self, limits: Limits) -> array[int]:
        span = self._per_gt * self.header.grain_sectors
        entries = -(-self.header.capacity // span)
        length = entries * 4
        if length > limits.max_table_bytes:
            raise LimitExceeded(
                f"VMDK grain directory too big: {length} bytes (limit {limits.max_table_bytes})"
            )
        start = self.header.gd_offset * SECTOR
        if start == 0 or start + length > self._source.size:
            raise CorruptImage(
                f"VMDK grain directory at {start} (+{length}) lies outside the file "
                f"of {self._source.size} bytes"
            )
        return _u32_array(self._source.read_at(start, length), length)

    def _table(self, index: int) -> array[int] | None:
        """Grain table ``index`` (decoded, cached), or None when it is not allocated."""
        with self._lock:
            table = self._tables.get(index)
            if table is not None:
                self._tables.move_to_end(index)
                return table
        sector = self._directory[index]
        if sector == 0:
            return None
        start, length = sector * SECTOR, self._per_gt * 4
        if start + length > self._source.size:
            raise CorruptImage(
                f"VMDK grain table {index} at {start} lies outside the file "
                f"of {self._source.size} bytes"
            )
        table = _u32_array(self._source.read_at(start, length), length)
        with self._lock:
            self._tables[index] = table
            if len(self._tables) > self._max_tables:
                self._tables.popitem(last=False)
        return table

    def _entry(self, grain: int) -> int:
        table = self._table(grain // self._per_gt)
        return 0 if table is None else table[grain % self._per_gt]

    def read_at(self, offset: int, length: int) -> bytes:
        """Guest bytes; contiguous allocated grains are fetched with one read."""
        end = min(offset + max(length, 0), self._size)
        if offset < 0 or offset >= end:
            return b""
        parts: list[bytes] = []
        # A run of grains read alike: 0 zeros, 1 file bytes, 2 backing file; 3 = compressed.
        run_kind, run_start, run_len, run_guest = -1, 0, 0, 0
        pos = offset
        while pos < end:
            grain, within = divmod(pos, self._grain)
            count = min(self._grain - within, end - pos)
            entry = self._entry(grain)
            if entry == 0:
                kind, start = (0 if self._backing is None else 2), pos
            elif entry == GTE_ZEROED and self._zero_grain:
                kind, start = 0, pos
            elif self._compressed:
                kind, start = 3, 0
            else:
                kind, start = 1, entry * SECTOR + within
            if run_len and kind == run_kind and start == run_start + run_len and kind != 3:
                run_len += count
            else:
                if run_len:
                    parts.append(self._fetch(run_kind, run_start, run_len, run_guest))
                run_kind, run_start, run_len, run_guest = kind, start, count, pos
                if kind == 3:
                    parts.append(self._grain_bytes(grain, entry)[within : within + count])
                    run_len = 0
            pos += count
        if run_len:
            parts.append(self._fetch(run_kind, run_start, run_len, run_guest))
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _fetch(self, kind: int, start: int, length: int, guest: int) -> bytes:
        if kind == 0:
            return bytes(length)
        if kind == 2:
            assert self._backing is not None
            data = self._backing.read_at(self._backing_base + start, length)
            return data + bytes(length - len(data))
        if start + length > self._source.size:
            raise CorruptImage(
                f"VMDK grain data for guest offset {guest} (+{length}) at file offset "
                f"{start} lies outside the file of {self._source.size} bytes"
            )
        return self._source.read_at(start, length)

    def _grain_bytes(self, grain: int, sector: int) -> bytes:
        """One compressed grain, inflated to exactly one grain (bomb-safe), cached."""
        with self._lock:
            data = self._grains.get(grain)
            if data is not None:
                self._grains.move_to_end(grain)
                return data
        guest = grain * self._grain
        data = inflate_grain(self._source, sector * SECTOR, self._grain, guest, self._markers)
        if len(data) < min(self._grain, self._size - guest):
            raise CorruptImage(
                f"VMDK compressed grain at guest offset {guest} inflates to "
                f"{len(data)} bytes, less than a grain"
            )
        with self._lock:
            self._grains[grain] = data
            if len(self._grains) > self._max_grains:
                self._grains.popitem(last=False)
        return data

    def data_ranges(self) -> Iterator[DataRange]:
        """Allocated grains, merged; zeroed and unallocated grains are left out."""
        run_start, run_len = 0, 0
        grains = -(-self._size // self._grain)
        for index, sector in enumerate(self._directory):
            if sector == 0:
                continue
            table = self._table(index)
            if table is None or table.count(0) == len(table):
                continue
            base = index * self._per_gt
            for slot, entry in enumerate(table):
                grain = base + slot
                if grain >= grains:
                    break
                if entry == 0 or (entry == GTE_ZEROED and self._zero_grain):
                    continue
                start = grain * self._grain
                length = min(self._grain, self._size - start)
                if run_len and run_start + run_len == start:
                    run_len += length
                    continue
                if run_len:
                    yield DataRange(run_start, run_len)
                run_start, run_len = start, length
        if run_len:
            yield DataRange(run_start, run_len)


def inflate_grain(
    source: ByteSource, offset: int, grain_bytes: int, guest: int, markers: bool
) -> bytes:
    """Inflate the grain stored at ``offset``: never more than ``grain_bytes`` of output."""
    if markers:
        head = source.read_at(offset, _MARKER.size)
        if len(head) < _MARKER.size:
            raise CorruptImage(f"VMDK grain marker for guest offset {guest} outside the file")
        lba, size = struct.unpack_from("<QI", head)
        if lba * SECTOR != guest:
            raise CorruptImage(
                f"VMDK grain marker at file offset {offset} is for guest offset "
                f"{lba * SECTOR}, expected {guest}"
            )
        if size == 0 or size > 2 * grain_bytes:
            raise CorruptImage(f"VMDK compressed grain for guest offset {guest}: size {size}")
        start = offset + 12
    else:
        start, size = offset, 2 * grain_bytes
    payload = source.read_at(start, size)
    if markers and len(payload) < size:
        raise CorruptImage(f"VMDK compressed grain for guest offset {guest} is truncated")
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(payload, grain_bytes)
        # With the output full, the input left over may be just the stream's checksum.
        tail = inflater.unconsumed_tail
        if not inflater.eof and tail and inflater.decompress(tail, 1):
            raise CorruptImage(
                f"VMDK compressed grain for guest offset {guest} inflates beyond "
                f"{grain_bytes} bytes"
            )
    except zlib.error as err:
        raise CorruptImage(f"VMDK compressed grain for guest offset {guest}: {err}") from err
    if not inflater.eof:
        raise CorruptImage(f"VMDK compressed grain for guest offset {guest} is truncated")
    return data


def _u32_array(raw: bytes, length: int) -> array[int]:
    """Little-endian 32-bit entries from a read that had to return ``length`` bytes."""
    if len(raw) != length:
        raise CorruptImage(f"VMDK table read returned {len(raw)} of {length} bytes")
    table = array("I", raw)  # "I" is 32 bits on every platform CPython supports
    if sys.byteorder == "big":  # pragma: no cover
        table.byteswap()
    return table
