"""VHDX (Hyper-V, MS-VHDX) reader: dynamic, fixed and differencing disks.

The structures before the BAT are parsed and validated by ``vhdx_metadata``; this module
decodes the BAT once and serves guest reads from payload blocks, sector bitmaps and the
parent. Images whose log needs replay are refused rather than read inconsistently. This
module must never open a host file: a parent locator's path is handed, as an untrusted string,
to the ``ReferenceOpener`` it is given, which applies the host-path policy.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Iterator

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
    read_exact,
    read_parent_or_zeros,
)
from vmguard.disk.containers.vhdx_metadata import VHDX_MAGIC, MiB, VhdxLayout, read_layout
from vmguard.disk.errors import CorruptImage, ImageRefused, LimitExceeded
from vmguard.disk.limits import Limits
from vmguard.disk.source import ByteSource, DataRange, clamp, coalesce

__all__ = ["VHDX_MAGIC", "VhdxDisk", "open_vhdx"]

NOT_PRESENT = 0
UNDEFINED = 1
ZERO = 2
UNMAPPED = 3
UNMAPPED_V095 = 5
FULLY_PRESENT = 6
PARTIALLY_PRESENT = 7
SB_BLOCK_PRESENT = 6
_ZERO_STATES = frozenset((UNDEFINED, ZERO, UNMAPPED, UNMAPPED_V095))

# Parent locator keys holding a file name, most likely to resolve inside the image dir first.
_PARENT_PATH_KEYS = ("relative_path", "absolute_win32_path", "volume_path")


def open_vhdx(source: ByteSource, *, limits: Limits, open_reference: ReferenceOpener) -> Container:
    """Open a VHDX image; the parent of a differencing disk comes from ``open_reference``."""
    try:
        layout = read_layout(source)
        bat = _read_bat(source, layout, limits)
    except (struct.error, IndexError, ValueError, OverflowError, MemoryError) as err:
        raise CorruptImage(f"VHDX structure invalid: {type(err).__name__}: {err}") from err
    parent: ByteSource | None = None
    references: tuple[Reference, ...] = ()
    if layout.has_parent:
        pairs = dict(layout.parent_locator)
        name = next((pairs[k] for k in _PARENT_PATH_KEYS if pairs.get(k)), "")
        if not name:
            raise ImageRefused(
                "differencing VHDX has no usable parent locator: it cannot be read on its own"
            )
        reference = Reference(ReferenceKind.BACKING_FILE, name, format="vhdx")
        parent = open_reference(reference)
        references = (reference,)
    if layout.has_parent:
        variant = "differencing"
    elif layout.leave_blocks_allocated:
        variant = "fixed"
    else:
        variant = "dynamic"
    disk = VhdxDisk(source, layout=layout, bat=bat, parent=parent, limits=limits)
    return Container(format="vhdx", variant=variant, disk=disk, references=references)


def _chunk_ratio(layout: VhdxLayout) -> int:
    return (1 << 23) * layout.logical_sector_size // layout.block_size


def _read_bat(source: ByteSource, layout: VhdxLayout, limits: Limits) -> array[int]:
    blocks = -(-layout.virtual_size // layout.block_size)
    ratio = _chunk_ratio(layout)
    if layout.has_parent:
        entries = -(-blocks // ratio) * (ratio + 1)
    else:
        entries = blocks + max(0, blocks - 1) // ratio
    size = entries * 8
    if size > limits.max_table_bytes:
        raise LimitExceeded(
            f"VHDX BAT of {size} bytes exceeds the {limits.max_table_bytes}-byte limit"
        )
    if size > layout.bat.length:
        raise CorruptImage(
            f"VHDX BAT of {size} bytes does not fit its {layout.bat.length}-byte region"
        )
    bat = array("Q", read_exact(source, layout.bat.offset, size))
    if sys.byteorder == "big":
        bat.byteswap()
    return bat


class VhdxDisk:
    """The guest view of a VHDX: BAT-mapped payload blocks, sector bitmaps and the parent."""

    def __init__(
        self,
        source: ByteSource,
        *,
        layout: VhdxLayout,
        bat: array[int],
        parent: ByteSource | None,
        limits: Limits,
    ) -> None:
        self._source = source
        self._layout = layout
        self._size = layout.virtual_size
        self._block_size = layout.block_size
        self._ratio = _chunk_ratio(layout)
        self._sector = layout.logical_sector_size
        self._sectors_per_block = layout.block_size // layout.logical_sector_size
        self._bat = bat
        self._parent = parent
        self._bitmaps = BitmapCache(limits.max_table_cache_entries, self._sectors_per_block)

    @property
    def size(self) -> int:
        """Virtual disk size from the metadata."""
        return self._size

    @property
    def layout(self) -> VhdxLayout:
        """The validated header, region and metadata values."""
        return self._layout

    def _entry(self, index: int) -> tuple[int, int]:
        """(state, file offset) of payload block ``index``, the offset checked against the file."""
        entry = self._bat[index + index // self._ratio]
        state, offset = entry & 7, (entry >> 20) << 20
        if state in (FULLY_PRESENT, PARTIALLY_PRESENT):
            used = min(self._block_size, self._size - index * self._block_size)
            if offset < MiB or offset + used > self._source.size:
                raise CorruptImage(
                    f"VHDX block {index} at file offset {offset} is outside the file"
                )
            if state == PARTIALLY_PRESENT and self._parent is None:
                raise CorruptImage(f"VHDX block {index} is partially present without a parent")
        elif state != NOT_PRESENT and state not in _ZERO_STATES:
            raise CorruptImage(f"VHDX block {index} has invalid BAT state {state}")
        return state, offset

    def _bits(self, index: int) -> str:
        cached = self._bitmaps.get(index)
        if cached is not None:
            return cached
        chunk, slot = divmod(index, self._ratio)
        where = chunk * (self._ratio + 1) + self._ratio
        entry = self._bat[where] if where < len(self._bat) else 0
        offset = (entry >> 20) << 20
        if entry & 7 != SB_BLOCK_PRESENT or offset < MiB or offset + MiB > self._source.size:
            raise CorruptImage(f"VHDX sector bitmap for block {index} is missing or out of file")
        nbytes = self._sectors_per_block // 8
        raw = read_exact(self._source, offset + slot * nbytes, nbytes)
        return self._bitmaps.put(index, raw, msb_first=False)

    def read_at(self, offset: int, length: int) -> bytes:
        """Guest bytes; absent blocks come from the parent or read as zeros."""
        n = clamp(offset, length, self._size)
        if n == 0:
            return b""
        parts: list[bytes] = []
        pos, end, bs = offset, offset + n, self._block_size
        while pos < end:
            index, within = divmod(pos, bs)
            take = min(end - pos, bs - within)
            state, file_at = self._entry(index)
            if state == FULLY_PRESENT:
                # Coalesce blocks laid out back to back in the file into one read.
                first = index
                while pos + take < end:
                    nstate, nfile = self._entry(index + 1)
                    if nstate != FULLY_PRESENT or nfile != file_at + (index + 1 - first) * bs:
                        break
                    index += 1
                    take = min(end - pos, take + bs)
                parts.append(read_exact(self._source, file_at + within, take))
            elif state == PARTIALLY_PRESENT:
                parts.append(
                    read_bitmapped(
                        self._source,
                        file_at,
                        self._bits(index),
                        within=within,
                        take=take,
                        sector=self._sector,
                        parent=self._parent,
                        guest_offset=pos,
                    )
                )
            elif state == NOT_PRESENT:
                parts.append(read_parent_or_zeros(self._parent, pos, take))
            else:
                parts.append(bytes(take))
            pos += take
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def data_ranges(self) -> Iterator[DataRange]:
        """Present and partially present blocks (block granularity), with the parent's."""
        return merge_data_ranges(self._own_ranges(), self._parent, self._size)

    def _own_ranges(self) -> Iterator[DataRange]:
        bs, ratio, bat, size = self._block_size, self._ratio, self._bat, self._size
        return coalesce(
            (index * bs, min(size, (index + 1) * bs))
            for index in range(-(-size // bs))
            if bat[index + index // ratio] & 7 in (FULLY_PRESENT, PARTIALLY_PRESENT)
        )

    def __repr__(self) -> str:
        return f"VhdxDisk(size={self._size}, block_size={self._block_size})"
