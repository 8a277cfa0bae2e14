"""VMDK images: a sparse file (KDMV) or a text descriptor and its extents -> the guest disk.

libvmdk follows extent names from the descriptor, absolute host paths included, so vmguard
reads VMDK itself. This module must never open a host file: a single-file sparse VMDK is
read as itself whatever its embedded descriptor names (and refused when that descriptor
lists any other extent), and every file a text descriptor names - extents and the parent of
a delta disk - is obtained from the ``ReferenceOpener``, which applies the host-path policy.
Everything the descriptor says is validated before the first reference is opened.
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from vmguard.disk.containers.interface import (
    Container,
    Reference,
    ReferenceKind,
    ReferenceOpener,
)
from vmguard.disk.containers.vmdk_descriptor import (
    Descriptor,
    ExtentLine,
    check_describes_only_itself,
    decode_descriptor,
    parse_descriptor,
    read_embedded_descriptor,
)
from vmguard.disk.containers.vmdk_sparse import (
    SECTOR,
    VMDK3_MAGIC,
    VMDK_SPARSE_MAGIC,
    SparseExtent,
)
from vmguard.disk.errors import (
    CorruptImage,
    DiskError,
    ImageRefused,
    LimitExceeded,
    UnsupportedFormat,
    withheld,
)
from vmguard.disk.limits import Limits
from vmguard.disk.source import ByteSource, DataRange, SliceSource, SparseSource, clamp
from vmguard.text import shown_name

__all__ = ["VMDK_SPARSE_MAGIC", "looks_like_vmdk", "open_vmdk"]

_PROBE_BYTES = 4096
_PROBE_CREATE_TYPE = re.compile(rb"(?m)^[ \t]*createType[ \t]*=")
_SPARSE_CREATE_TYPES = frozenset({"monolithicSparse", "streamOptimized"})
_TEXT_CREATE_TYPES = frozenset(
    {"monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat", "vmfs", "vmfsThin"}
)
_FLAT_TYPES = frozenset({"FLAT", "VMFS"})


def looks_like_vmdk(head: bytes) -> bool:
    """True when the first bytes of a file are a VMDK sparse header or text descriptor.

    Only the first 4 KiB are looked at. COWD (VMDK3) headers count, so that they are
    refused as unsupported rather than read as raw.
    """
    if head[:4] in (VMDK_SPARSE_MAGIC, VMDK3_MAGIC):
        return True
    window = head[:_PROBE_BYTES]
    return window.startswith(b"# Disk DescriptorFile") or bool(_PROBE_CREATE_TYPE.search(window))


def open_vmdk(source: ByteSource, *, limits: Limits, open_reference: ReferenceOpener) -> Container:
    """Open a VMDK from its sparse file or its text descriptor file.

    Raises ``CorruptImage`` (or ``LimitExceeded``) for structures that do not hold up,
    ``UnsupportedFormat`` for variants vmguard does not read (COWD, seSparse, NOACCESS
    extents), and ``ImageRefused`` when the image names files it may not (and whatever
    ``open_reference`` raises).
    """
    magic = source.read_at(0, 4)
    if magic == VMDK_SPARSE_MAGIC:
        return _open_sparse_file(source, limits, open_reference)
    if magic == VMDK3_MAGIC:
        raise UnsupportedFormat("VMDK3 (COWD, ESX 2 / vmfsSparse) extents are not supported")
    return _open_descriptor_file(source, limits, open_reference)


@dataclass(frozen=True, slots=True)
class _Piece:
    """One extent placed on the disk: guest bytes [start, start + length)."""

    start: int
    length: int
    source: ByteSource | None
    """The extent's guest bytes; None for a ZERO extent."""
    sparse: bool
    """Unallocated grains fall through to the parent (sparse extents only)."""


class VmdkDisk:
    """The guest-visible disk: extents concatenated, a delta's holes read from its parent."""

    def __init__(self, pieces: list[_Piece], parent: ByteSource | None) -> None:
        self._pieces = pieces
        self._starts = [p.start for p in pieces]
        self._size = pieces[-1].start + pieces[-1].length if pieces else 0
        self._parent = parent

    @property
    def size(self) -> int:
        """Virtual disk size in bytes: the sum of the extents."""
        return self._size

    def read_at(self, offset: int, length: int) -> bytes:
        """Guest bytes at ``offset``; reads spanning extents are stitched together."""
        remaining = clamp(offset, length, self._size)
        parts: list[bytes] = []
        index = bisect_right(self._starts, offset) - 1
        while remaining > 0:
            piece = self._pieces[index]
            within = offset - piece.start
            count = min(piece.length - within, remaining)
            if piece.source is None:
                data = bytes(count)
            else:
                data = piece.source.read_at(within, count)
                if len(data) != count:
                    raise CorruptImage(
                        f"VMDK extent at guest offset {piece.start} returned {len(data)} "
                        f"of {count} bytes at {offset}"
                    )
            parts.append(data)
            offset += count
            remaining -= count
            index += 1
        if len(parts) == 1:
            return parts[0]
        return b"".join(parts)

    def data_ranges(self) -> Iterator[DataRange]:
        """Ascending merged ranges: allocated grains, flat data, and the parent's data."""
        streams: list[Iterator[tuple[int, int]]] = [self._own_ranges()]
        if self._parent is not None:
            streams.append(self._parent_ranges(self._parent))
        start, end = -1, -1
        for lo, hi in heapq.merge(*streams):
            if lo <= end:
                end = max(end, hi)
                continue
            if end > start:
                yield DataRange(start, end - start)
            start, end = lo, hi
        if end > start:
            yield DataRange(start, end - start)

    def _own_ranges(self) -> Iterator[tuple[int, int]]:
        for piece in self._pieces:
            if piece.source is None:
                continue
            inner: Iterable[DataRange]
            if isinstance(piece.source, SparseSource):
                inner = piece.source.data_ranges()
            else:
                inner = (DataRange(0, piece.length),)
            for r in inner:
                lo, hi = r.offset, min(r.offset + r.length, piece.length)
                if lo >= piece.length:
                    break
                if lo < hi:
                    yield piece.start + lo, piece.start + hi

    def _parent_ranges(self, parent: ByteSource) -> Iterator[tuple[int, int]]:
        spans = [(p.start, p.start + p.length) for p in self._pieces if p.sparse]
        if not spans:
            return
        ranges: Iterable[DataRange]
        if isinstance(parent, SparseSource):
            ranges = parent.data_ranges()
        else:
            ranges = (DataRange(0, parent.size),)
        i = 0
        for r in ranges:
            lo, hi = r.offset, min(r.offset + r.length, self._size)
            while i < len(spans) and spans[i][1] <= lo:
                i += 1
            if i == len(spans):
                return
            j = i
            while j < len(spans) and spans[j][0] < hi:
                a, b = max(lo, spans[j][0]), min(hi, spans[j][1])
                if a < b:
                    yield a, b
                j += 1


def _open_sparse_file(
    source: ByteSource, limits: Limits, open_reference: ReferenceOpener
) -> Container:
    """A file with a KDMV header: monolithicSparse, streamOptimized or a lone extent."""
    # Header and grain directory first: bounded, and what qemu checks first too.
    extent = SparseExtent(source, limits)
    header = extent.header
    descriptor = read_embedded_descriptor(
        source, header.descriptor_offset, header.descriptor_sectors, limits
    )
    default = "streamOptimized" if header.compression == 1 else "monolithicSparse"
    variant = default
    if descriptor is not None:
        variant = descriptor.create_type or default
        check_describes_only_itself(descriptor, header.capacity)
        if variant not in _SPARSE_CREATE_TYPES:
            raise UnsupportedFormat(
                f"sparse VMDK with createType {shown_name(variant)!r} is not supported"
            )
    pieces = [_Piece(0, extent.size, extent, sparse=True)]
    references: tuple[Reference, ...] = ()
    parent = None
    if descriptor is not None and descriptor.has_parent:
        reference = _parent_reference(descriptor)
        references = (reference,)
        parent = open_reference(reference)
        extent.attach_backing(parent, 0)
    return Container("vmdk", variant, VmdkDisk(pieces, parent), references)


def _parent_reference(descriptor: Descriptor) -> Reference:
    hint = descriptor.parent_hint
    if not hint:
        raise ImageRefused(
            f"delta VMDK (parentCID {shown_name(descriptor.parent_cid or '')}) names no "
            "parentFileNameHint: its parent cannot be located"
        )
    return Reference(ReferenceKind.BACKING_FILE, hint, format="vmdk")


def _open_descriptor_file(
    source: ByteSource, limits: Limits, open_reference: ReferenceOpener
) -> Container:
    """A text descriptor: every extent comes from ``open_reference``."""
    if source.size > limits.max_descriptor_bytes:
        raise LimitExceeded(
            f"VMDK descriptor file is {source.size} bytes (limit {limits.max_descriptor_bytes})"
        )
    descriptor = parse_descriptor(decode_descriptor(source.read_at(0, source.size), limits), limits)
    variant = descriptor.create_type
    if variant is None:
        raise CorruptImage("VMDK descriptor has no createType")
    if variant not in _TEXT_CREATE_TYPES:
        raise UnsupportedFormat(
            f"VMDK descriptor createType {shown_name(variant)!r} is not supported"
        )
    if not descriptor.extents:
        raise CorruptImage("VMDK descriptor lists no extent")
    for extent in descriptor.extents:
        _check_extent_supported(extent)
    parent_ref = _parent_reference(descriptor) if descriptor.has_parent else None

    pieces: list[_Piece] = []
    references: list[Reference] = []
    start = 0
    for extent in descriptor.extents:
        length = extent.sectors * SECTOR
        if extent.type == "ZERO":
            pieces.append(_Piece(start, length, None, sparse=False))
        else:
            assert extent.filename is not None
            reference = Reference(ReferenceKind.EXTENT, extent.filename, extent_type=extent.type)
            references.append(reference)
            raw = open_reference(reference)
            try:
                pieces.append(_open_extent(extent, start, raw, limits))
            except DiskError as err:
                shown = shown_name(extent.filename)
                raise withheld(err, f"VMDK extent {shown!r} (line {extent.line})") from None
        start += length

    parent = None
    if parent_ref is not None:
        references.append(parent_ref)
        parent = open_reference(parent_ref)
        for piece in pieces:
            if isinstance(piece.source, SparseExtent):
                piece.source.attach_backing(parent, piece.start)
    return Container("vmdk", variant, VmdkDisk(pieces, parent), tuple(references))


def _check_extent_supported(extent: ExtentLine) -> None:
    where = f"line {extent.line}"
    if extent.access != "RW":
        # qemu's parser skips every extent line that is not RW (and any without a quoted
        # name, like ZERO): the disk it builds lacks them, so the two would disagree.
        raise ImageRefused(f"VMDK {extent.access} extent ({where}): qemu leaves it out")
    if extent.type == "ZERO":
        raise ImageRefused(f"VMDK ZERO extent ({where}): qemu leaves it out")
    if extent.type not in ("FLAT", "VMFS", "SPARSE"):
        raise UnsupportedFormat(f"VMDK extent type {extent.type} ({where}) is not supported")


def _open_extent(extent: ExtentLine, start: int, raw: ByteSource, limits: Limits) -> _Piece:
    """Place one opened extent file on the disk."""
    length = extent.sectors * SECTOR
    name = shown_name(extent.filename or "")
    if extent.type in _FLAT_TYPES:
        offset = extent.offset * SECTOR
        if offset + length > raw.size:
            raise CorruptImage(
                f"VMDK flat extent {name!r} is {raw.size} bytes, the descriptor needs "
                f"{offset + length} (line {extent.line})",
                safe_reason=f"shorter than the {offset + length} bytes the descriptor needs",
            )
        return _Piece(start, length, SliceSource(raw, offset, length), sparse=False)
    magic = raw.read_at(0, 4)
    if magic == VMDK3_MAGIC:
        raise UnsupportedFormat(
            f"VMDK extent {name!r} is a COWD (VMDK3) extent", safe_reason="not a SPARSE extent"
        )
    if magic != VMDK_SPARSE_MAGIC:
        raise CorruptImage(
            f"VMDK SPARSE extent {name!r} has no KDMV header", safe_reason="no KDMV header"
        )
    sparse = SparseExtent(raw, limits)
    if sparse.size != length:
        # qemu sizes a sparse extent by its own header, the descriptor's count aside.
        raise ImageRefused(
            f"VMDK sparse extent {name!r} holds {sparse.size} bytes, the descriptor says "
            f"{length} (line {extent.line}): readers would place the next extents differently",
            safe_reason=(
                f"its header does not hold the {length} bytes the descriptor says: readers "
                "would place the next extents differently"
            ),
        )
    return _Piece(start, length, sparse, sparse=True)
