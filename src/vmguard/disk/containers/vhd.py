"""VHD (Microsoft Virtual PC, qemu "vpc") reader: fixed, dynamic and differencing disks.

Every field of the footer, dynamic header, BAT and parent locators is untrusted: offsets and
counts are checked against the file size and ``Limits`` before anything is read or allocated.
This module must never open a host file: a differencing disk's parent name is handed, as an
untrusted string, to the ``ReferenceOpener`` it is given, which applies the host-path policy.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

from vmguard.disk.containers.interface import (
    Container,
    Reference,
    ReferenceKind,
    ReferenceOpener,
)
from vmguard.disk.containers.vhd_blocks import (
    BitmapCache,
    merge_data_ranges,
    read_bitmapped,
    read_parent_or_zeros,
)
from vmguard.disk.errors import CorruptImage, ImageRefused, LimitExceeded, UnsupportedFormat
from vmguard.disk.limits import Limits
from vmguard.disk.source import ByteSource, DataRange, SliceSource, clamp, coalesce

VHD_COOKIE = b"conectix"
"""Cookie at the start of the footer (file end; also offset 0 of dynamic disks)."""
VHD_DYNAMIC_COOKIE = b"cxsparse"
"""Cookie at the start of the dynamic disk header."""

FOOTER_SIZE = 512
DYNAMIC_HEADER_SIZE = 1024
SECTOR = 512
UNALLOCATED = 0xFFFFFFFF

DISK_FIXED = 2
DISK_DYNAMIC = 3
DISK_DIFFERENCING = 4
_VARIANTS = {DISK_FIXED: "fixed", DISK_DYNAMIC: "dynamic", DISK_DIFFERENCING: "differencing"}

# qemu refuses dynamic disks above 2040 GiB (VHD_MAX_SECTORS); so does the VHD specification.
MAX_DYNAMIC_SIZE = 0xFF000000 * SECTOR
MIN_BLOCK_SIZE = 4096
"""qemu sizes the sector bitmap of a smaller block as zero bytes and reads its data a sector
earlier than the specification says: below 4 KiB the two readings differ, so it is refused."""
MAX_BLOCK_SIZE = 256 * 1024 * 1024
MAX_LOCATOR_BYTES = 64 * 1024

_FOOTER = struct.Struct(">8sIIQI4sI4sQQHBBII16sB")
_DYN_HEADER = struct.Struct(">8sQQIIII16sII512s")
_LOCATOR = struct.Struct(">4sIIIQ")
_LOCATORS_AT = 576
_CHECKSUM_AT_FOOTER = 64
_CHECKSUM_AT_HEADER = 36

# Parent locator platform codes, in the order their names are tried.
_LOCATOR_ENCODINGS = {b"W2ru": "utf-16-le", b"W2ku": "utf-16-le", b"MacX": "utf-8"}


def looks_like_vhd(head: bytes, tail: bytes) -> bool:
    """True if a footer cookie is at the file end or (dynamic disks) at offset 0."""
    return head[:8] == VHD_COOKIE or tail[-FOOTER_SIZE:][:8] == VHD_COOKIE


def vhd_checksum(data: bytes, checksum_at: int) -> int:
    """One's complement of the byte sum, with the 4-byte checksum field counted as zero."""
    total = sum(data) - sum(data[checksum_at : checksum_at + 4])
    return ~total & 0xFFFFFFFF


def _read_exact(source: ByteSource, offset: int, length: int, what: str) -> bytes:
    data = source.read_at(offset, length)
    if len(data) != length:
        raise CorruptImage(f"VHD {what} at offset {offset} is truncated")
    return data


@dataclass(frozen=True, slots=True)
class _Footer:
    disk_type: int
    current_size: int
    data_offset: int
    creator: bytes
    cylinders: int
    heads: int
    sectors: int


# qemu takes the disk size from current_size for these creators (or a maximal geometry) and
# from the CHS geometry for every other one, as Virtual PC did (block/vpc.c).
_SIZE_FROM_CURRENT_SIZE = (b"win ", b"qem2", b"d2v ", b"CTXS", b"tap\x00")


def _parse_footer(raw: bytes) -> _Footer | None:
    """The fields of a valid footer, else None."""
    fields = _FOOTER.unpack_from(raw)
    if fields[0] != VHD_COOKIE or fields[14] != vhd_checksum(raw, _CHECKSUM_AT_FOOTER):
        return None
    return _Footer(fields[13], fields[9], fields[3], fields[5], fields[10], fields[11], fields[12])


def _find_footer(source: ByteSource) -> _Footer:
    size = source.size
    if size < FOOTER_SIZE:
        raise CorruptImage(f"VHD file of {size} bytes is smaller than its 512-byte footer")
    tail = _read_exact(source, size - FOOTER_SIZE, FOOTER_SIZE, "footer")
    head = _read_exact(source, 0, FOOTER_SIZE, "footer copy")
    found = _parse_footer(tail)
    if found is not None and head[:8] == VHD_COOKIE and head != tail:
        # qemu reads the copy at offset 0 whenever it starts with the cookie (and then takes
        # the disk for dynamic); the specification reads the trailing one.
        raise ImageRefused(
            "VHD footer copy at offset 0 differs from the footer at the end: qemu and other "
            "readers would see different disks (refused as ambiguous)"
        )
    if found is None:
        # The trailing footer is authoritative; the copy at offset 0 only stands in for it
        # on dynamic disks (a fixed disk's first sector is guest data).
        copy = _parse_footer(head)
        if copy is not None and copy.disk_type in (DISK_DYNAMIC, DISK_DIFFERENCING):
            return copy
        if tail[:8] == VHD_COOKIE or head[:8] == VHD_COOKIE:
            raise CorruptImage("VHD footer checksum mismatch")
        raise CorruptImage("VHD footer cookie 'conectix' not found")
    return found


def _disk_size(footer: _Footer) -> int:
    """The virtual size qemu gives the disk; refused where it and current_size disagree."""
    maximal = footer.cylinders == 65535 and footer.heads == 16 and footer.sectors == 255
    if footer.creator in _SIZE_FROM_CURRENT_SIZE or maximal:
        return footer.current_size
    chs = footer.cylinders * footer.heads * footer.sectors * SECTOR
    if chs != footer.current_size:
        raise ImageRefused(
            f"VHD from creator {footer.creator!r}: its CHS geometry gives {chs} bytes, its "
            f"current size {footer.current_size}; qemu uses the geometry, other readers the "
            "size (refused as ambiguous)"
        )
    return chs


@dataclass(frozen=True, slots=True)
class _DynamicLayout:
    """The validated dynamic header and BAT of a dynamic or differencing VHD."""

    bat: array[int]
    block_size: int
    parent_name: str | None


def open_vhd(source: ByteSource, *, limits: Limits, open_reference: ReferenceOpener) -> Container:
    """Open a VHD image; the parent of a differencing disk comes from ``open_reference``."""
    try:
        disk_type, size, data_offset = read_footer(source)
        layout = None
        if disk_type != DISK_FIXED:
            layout = _read_dynamic(source, disk_type, size, data_offset, limits)
    except (struct.error, IndexError, ValueError, OverflowError, MemoryError) as err:
        raise CorruptImage(f"VHD structure invalid: {type(err).__name__}: {err}") from err
    variant = _VARIANTS[disk_type]
    if layout is None:
        return Container(format="vhd", variant=variant, disk=SliceSource(source, 0, size))
    parent: ByteSource | None = None
    references: tuple[Reference, ...] = ()
    if layout.parent_name is not None:
        reference = Reference(ReferenceKind.BACKING_FILE, layout.parent_name, format="vhd")
        parent = open_reference(reference)
        references = (reference,)
    disk = VhdDynamicDisk(
        source,
        size=size,
        bat=layout.bat,
        block_size=layout.block_size,
        parent=parent,
        limits=limits,
    )
    return Container(format="vhd", variant=variant, disk=disk, references=references)


def read_footer(source: ByteSource) -> tuple[int, int, int]:
    """(disk type, virtual size, dynamic header offset) from a valid footer, sizes checked."""
    footer = _find_footer(source)
    disk_type, data_offset = footer.disk_type, footer.data_offset
    size = _disk_size(footer)
    if disk_type not in _VARIANTS:
        raise UnsupportedFormat(f"VHD disk type {disk_type} is not supported")
    if size % SECTOR:
        raise CorruptImage(f"VHD disk size {size} is not a multiple of 512")
    if disk_type == DISK_FIXED and size > source.size - FOOTER_SIZE:
        raise CorruptImage(
            f"fixed VHD disk size {size} exceeds the file's {source.size - FOOTER_SIZE} data bytes"
        )
    if disk_type == DISK_FIXED and size < source.size - FOOTER_SIZE:
        # A fixed VHD is its data and a footer. More data than the footer declares is what a
        # reader that probes by the first sector (qemu) takes for a raw disk, bytes included.
        raise ImageRefused(
            f"fixed VHD declares {size} bytes but holds {source.size - FOOTER_SIZE}: read as "
            "a raw disk by qemu's probe, refused as ambiguous"
        )
    if disk_type != DISK_FIXED and size > MAX_DYNAMIC_SIZE:
        raise LimitExceeded(f"VHD disk size {size} exceeds the 2040 GiB dynamic-disk maximum")
    return disk_type, size, data_offset


def _read_dynamic(
    source: ByteSource, disk_type: int, size: int, data_offset: int, limits: Limits
) -> _DynamicLayout:
    """Validate the dynamic header, read the BAT and (differencing) the parent's name."""
    if data_offset < FOOTER_SIZE or data_offset > source.size - DYNAMIC_HEADER_SIZE:
        raise CorruptImage(f"VHD dynamic header offset {data_offset} is outside the file")
    header = _read_exact(source, data_offset, DYNAMIC_HEADER_SIZE, "dynamic header")
    fields = _DYN_HEADER.unpack_from(header)
    if fields[0] != VHD_DYNAMIC_COOKIE:
        raise CorruptImage("VHD dynamic header cookie 'cxsparse' not found")
    if fields[6] != vhd_checksum(header, _CHECKSUM_AT_HEADER):
        raise CorruptImage("VHD dynamic header checksum mismatch")
    table_offset, entries, block_size = fields[2], fields[4], fields[5]
    if block_size < MIN_BLOCK_SIZE or block_size > MAX_BLOCK_SIZE or block_size & (block_size - 1):
        raise CorruptImage(f"VHD block size {block_size} is not a power of two in 4 KiB-256 MiB")
    needed = -(-size // block_size)
    if entries > needed:
        raise LimitExceeded(
            f"VHD max table entries {entries} exceeds the {needed} blocks of a {size}-byte disk"
        )
    if entries * 4 > limits.max_table_bytes:
        raise LimitExceeded(
            f"VHD BAT of {entries * 4} bytes exceeds the {limits.max_table_bytes}-byte limit"
        )
    if table_offset < FOOTER_SIZE or table_offset + entries * 4 > source.size:
        raise CorruptImage(f"VHD BAT at {table_offset} ({entries} entries) is outside the file")
    bat = array("I", _read_exact(source, table_offset, entries * 4, "BAT"))
    if sys.byteorder == "little":
        bat.byteswap()
    parent_name = None
    if disk_type == DISK_DIFFERENCING:
        parent_name = _parent_name(source, header, fields[10])
    return _DynamicLayout(bat=bat, block_size=block_size, parent_name=parent_name)


def _parent_name(source: ByteSource, header: bytes, unicode_name: bytes) -> str:
    """The parent's name as stored: relative locator, header name, absolute locator, Mac."""
    names: dict[bytes, str] = {}
    for i in range(8):
        code, _space, length, _reserved, offset = _LOCATOR.unpack_from(
            header, _LOCATORS_AT + i * _LOCATOR.size
        )
        encoding = _LOCATOR_ENCODINGS.get(code)
        if encoding is None or length == 0 or code in names:
            continue
        if length > MAX_LOCATOR_BYTES or offset + length > source.size:
            raise CorruptImage(f"VHD parent locator {i} ({length} bytes at {offset}) is invalid")
        raw = _read_exact(source, offset, length, "parent locator")
        try:
            names[code] = raw.decode(encoding).split("\x00", 1)[0]
        except UnicodeDecodeError as err:
            raise CorruptImage(f"VHD parent locator {i} is not valid {encoding}") from err
    try:
        header_name = unicode_name.decode("utf-16-be").split("\x00", 1)[0]
    except UnicodeDecodeError as err:
        raise CorruptImage("VHD parent unicode name is not valid UTF-16BE") from err
    relative = names.get(b"W2ru")
    if relative and "\\" in relative and not relative.startswith("\\") and ":" not in relative:
        # Hyper-V writes relative locators Windows-style (".\\parent.vhd"): the same path
        # with "/" (the host-path policy still decides whether it may be opened).
        relative = relative.replace("\\", "/")
    for name in (relative, header_name, names.get(b"W2ku"), names.get(b"MacX")):
        if name:
            return name
    raise ImageRefused("differencing VHD names no parent: it cannot be read on its own")


class VhdDynamicDisk:
    """The guest view of a dynamic or differencing VHD: BAT, sector bitmaps, data blocks."""

    def __init__(
        self,
        source: ByteSource,
        *,
        size: int,
        bat: array[int],
        block_size: int,
        parent: ByteSource | None,
        limits: Limits,
    ) -> None:
        self._source = source
        self._size = size
        self._bat = bat
        self._block_size = block_size
        self._sectors_per_block = block_size // SECTOR
        bitmap_bytes = -(-self._sectors_per_block // 8)
        self._bitmap_size = -(-bitmap_bytes // SECTOR) * SECTOR
        self._parent = parent
        self._bitmaps = BitmapCache(limits.max_table_cache_entries, self._sectors_per_block)

    @property
    def size(self) -> int:
        """Virtual disk size: the footer's current size."""
        return self._size

    @property
    def parent(self) -> ByteSource | None:
        """The parent disk of a differencing VHD."""
        return self._parent

    def _block_offset(self, index: int) -> int:
        """File offset of block ``index``'s bitmap, or -1 when the block is unallocated."""
        entry = self._bat[index] if index < len(self._bat) else UNALLOCATED
        if entry == UNALLOCATED:
            return -1
        start = entry * SECTOR
        used = min(self._block_size, self._size - index * self._block_size)
        if start < FOOTER_SIZE or start + self._bitmap_size + used > self._source.size:
            raise CorruptImage(f"VHD block {index} at file offset {start} is outside the file")
        return start

    def _bits(self, index: int, bitmap_at: int) -> str:
        cached = self._bitmaps.get(index)
        if cached is None:
            raw = _read_exact(self._source, bitmap_at, self._bitmap_size, "sector bitmap")
            cached = self._bitmaps.put(index, raw, msb_first=True)
        return cached

    def read_at(self, offset: int, length: int) -> bytes:
        """Guest bytes; unallocated sectors come from the parent or read as zeros."""
        n = clamp(offset, length, self._size)
        if n == 0:
            return b""
        parts: list[bytes] = []
        pos, end, bs = offset, offset + n, self._block_size
        while pos < end:
            index, within = divmod(pos, bs)
            take = min(end - pos, bs - within)
            start = self._block_offset(index)
            if start < 0:
                # Coalesce a run of unallocated blocks into one parent read.
                while pos + take < end and self._block_offset(index + 1) < 0:
                    index += 1
                    take = min(end - pos, take + bs)
                parts.append(read_parent_or_zeros(self._parent, pos, take))
            elif self._parent is None:
                # A dynamic disk: qemu reads the stored block whatever its sector bitmap says
                # (the bitmap only matters where a parent could supply the sector).
                data_at = start + self._bitmap_size + within
                parts.append(_read_exact(self._source, data_at, take, f"block {index}"))
            else:
                data_at = start + self._bitmap_size
                bits = self._bits(index, start)
                parts.append(
                    read_bitmapped(
                        self._source,
                        data_at,
                        bits,
                        within=within,
                        take=take,
                        sector=SECTOR,
                        parent=self._parent,
                        guest_offset=pos,
                    )
                )
            pos += take
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def data_ranges(self) -> Iterator[DataRange]:
        """Allocated blocks (block granularity), merged with the parent's ranges."""
        return merge_data_ranges(self._own_ranges(), self._parent, self._size)

    def _own_ranges(self) -> Iterator[DataRange]:
        bs, size = self._block_size, self._size
        return coalesce(
            (index * bs, min(size, (index + 1) * bs))
            for index, entry in enumerate(self._bat)
            if entry != UNALLOCATED and index * bs < size
        )

    def __repr__(self) -> str:
        return f"VhdDynamicDisk(size={self._size}, block_size={self._block_size})"
