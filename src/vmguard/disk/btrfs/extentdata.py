"""The bytes of btrfs file extents: read plain, decompressed, or assembled across extents.

A compressed extent is decompressed whole within ``decompress``'s limits, after its stored
size is checked against ``MAX_COMPRESSED_EXTENT``; the last few are kept, since a file read
in pieces asks for the same extent again. Holes and preallocated extents read as zeros.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Final

from vmguard.disk.btrfs.decompress import MAX_COMPRESSED_EXTENT, decompress
from vmguard.disk.btrfs.items import (
    EXTENT_INLINE,
    EXTENT_PREALLOC,
    EXTENT_REGULAR,
    ExtentFields,
    FileExtent,
)
from vmguard.disk.btrfs.volume import BtrfsVolume
from vmguard.disk.errors import LimitExceeded

_DECOMPRESSED_CACHE: Final = 16


class ExtentData:
    """Reads extents' content from one volume."""

    def __init__(self, volume: BtrfsVolume) -> None:
        self.volume = volume
        self.sectorsize = volume.superblock.sectorsize
        self._decompressed: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()

    def overlaid(
        self, offsets: Sequence[int], extents: Sequence[FileExtent], i: int, offset: int, end: int
    ) -> bytes:
        """``[offset, end)`` from extent ``i`` on, later extents written over earlier ones
        (for extents that overlap, which btrfs never writes but a hostile image may)."""
        out = bytearray(end - offset)
        while i < len(offsets) and offsets[i] < end:
            start, extent = offsets[i], extents[i]
            i += 1
            lo, hi = max(start, offset), min(start + extent.num_bytes, end)
            if lo >= hi:
                continue
            data = self.extent_bytes(extent, lo - start, hi - lo)
            out[lo - offset : lo - offset + len(data)] = data
        return bytes(out)

    def assembled(
        self, offsets: Sequence[int], extents: Sequence[FileExtent], i: int, offset: int, end: int
    ) -> list[bytes] | None:
        """The pieces of ``[offset, end)`` from extent ``i`` on, holes as zeros; None when
        two extents overlap. Extents that follow each other on disk are read at once."""
        parts: list[bytes] = []
        pos = offset
        count = len(offsets)
        while i < count and offsets[i] < end:
            start, extent = offsets[i], extents[i]
            i += 1
            if start < pos and pos > offset:
                return None
            hi = min(start + extent.num_bytes, end)
            if hi <= pos:
                continue  # the extent before ``offset`` ends before it
            if start > pos:
                parts.append(bytes(start - pos))
            lo = max(start, pos)
            if extent.kind == EXTENT_REGULAR and not extent.compression and extent.disk_bytenr:
                disk = extent.disk_bytenr + extent.offset + (lo - start)
                while i < count and offsets[i] == hi < end:
                    after = extents[i]
                    if not (
                        after.kind == EXTENT_REGULAR
                        and not after.compression
                        and after.disk_bytenr
                        and after.disk_bytenr + after.offset == disk + hi - lo
                    ):
                        break
                    hi = min(hi + after.num_bytes, end)
                    i += 1
                data = self.volume.read_logical(disk, hi - lo)
            else:
                data = self.extent_bytes(extent, lo - start, hi - lo)
            parts.append(data)
            if len(data) < hi - lo:
                parts.append(bytes(hi - lo - len(data)))
            pos = hi
        if pos < end:
            parts.append(bytes(end - pos))
        return parts

    def extent_bytes(self, extent: ExtentFields, skip: int, length: int) -> bytes:
        """``length`` bytes of an extent's content from ``skip`` (fewer: the rest is zeros).

        ``extent``: a ``FileExtent`` or its fields as a plain tuple (what records hold)."""
        ram_bytes, compression, kind, inline, disk_bytenr, disk_num_bytes, offset, _ = extent
        if kind == EXTENT_INLINE:
            data = inline
            if compression:
                data = decompress(compression, data, ram_bytes, self.sectorsize)
            return data[skip : skip + length]
        if kind == EXTENT_PREALLOC or disk_bytenr == 0:
            return b""
        if not compression:
            return self.volume.read_logical(disk_bytenr + offset + skip, length)
        key = (disk_bytenr, disk_num_bytes, compression)
        plain = self._decompressed.get(key)
        if plain is None:
            if disk_num_bytes > MAX_COMPRESSED_EXTENT:
                raise LimitExceeded(f"btrfs compressed extent occupies {disk_num_bytes} bytes")
            stored = self.volume.read_logical(disk_bytenr, disk_num_bytes)
            plain = decompress(compression, stored, ram_bytes, self.sectorsize)
            self._decompressed[key] = plain
            if len(self._decompressed) > _DECOMPRESSED_CACHE:
                self._decompressed.popitem(last=False)
        start = offset + skip
        return plain[start : start + length]
