"""Block-level reading shared by the VHD and VHDX readers: sector bitmaps and parents.

Both formats split the disk into blocks that are present, absent (zeros, or the parent's
bytes for a differencing disk) or partially present per a sector bitmap. Callers validate
every file offset before passing it here; this module must never open a host file.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Iterator

from vmguard.disk.errors import CorruptImage
from vmguard.disk.source import ByteSource, DataRange, SparseSource

# Bits kept decoded in memory across all cached bitmaps (one str character per sector).
_BITMAP_BUDGET = 16 * 1024 * 1024
# Reverses the bit order of a byte: VHDX numbers sectors from the least significant bit.
_REVERSE_BITS = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def bitmap_bits(raw: bytes, count: int, *, msb_first: bool) -> str:
    """One '1' (present) or '0' character per sector, first sector first."""
    nbytes = -(-count // 8)
    chunk = raw[:nbytes]
    if len(chunk) != nbytes:
        raise CorruptImage(f"sector bitmap of {len(raw)} bytes is short of {count} bits")
    if not msb_first:
        chunk = chunk.translate(_REVERSE_BITS)
    # The guard bit keeps leading zeros in bin()'s output.
    return bin(int.from_bytes(chunk, "big") | (1 << (8 * nbytes)))[3 : 3 + count]


class BitmapCache:
    """A bounded LRU of decoded sector bitmaps, keyed by block index."""

    def __init__(self, max_entries: int, bits_per_bitmap: int) -> None:
        self._bits = bits_per_bitmap
        self._max = max(1, min(max_entries, _BITMAP_BUDGET // max(1, bits_per_bitmap)))
        self._entries: OrderedDict[int, str] = OrderedDict()

    def get(self, index: int) -> str | None:
        """The cached bits of block ``index``, refreshing its recency."""
        bits = self._entries.get(index)
        if bits is not None:
            self._entries.move_to_end(index)
        return bits

    def put(self, index: int, raw: bytes, *, msb_first: bool) -> str:
        """Decode, cache and return the bitmap of block ``index``."""
        bits = bitmap_bits(raw, self._bits, msb_first=msb_first)
        self._entries[index] = bits
        if len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return bits


def read_exact(source: ByteSource, offset: int, length: int) -> bytes:
    """``length`` bytes of the image file at ``offset``, or CorruptImage."""
    data = source.read_at(offset, length)
    if len(data) != length:
        raise CorruptImage(f"image data at file offset {offset} (+{length}) is truncated")
    return data


def read_parent_or_zeros(parent: ByteSource | None, offset: int, length: int) -> bytes:
    """Guest bytes not stored in this image: the parent's, zero-padded past its end."""
    if parent is None:
        return bytes(length)
    data = parent.read_at(offset, length)
    return data if len(data) == length else data + bytes(length - len(data))


def read_bitmapped(
    source: ByteSource,
    data_at: int,
    bits: str,
    *,
    within: int,
    take: int,
    sector: int,
    parent: ByteSource | None,
    guest_offset: int,
) -> bytes:
    """Read ``take`` bytes at ``within`` of a block stored at ``data_at``, per its bitmap."""
    first, last = within // sector, -(-(within + take) // sector)
    if bits.find("0", first, last) < 0:
        return read_exact(source, data_at + within, take)
    if bits.find("1", first, last) < 0:
        return read_parent_or_zeros(parent, guest_offset, take)
    parts: list[bytes] = []
    end = within + take
    i = first
    while i < last:
        present = bits[i] == "1"
        j = bits.find("0" if present else "1", i, last)
        j = last if j < 0 else j
        lo, hi = max(i * sector, within), min(j * sector, end)
        if present:
            parts.append(read_exact(source, data_at + lo, hi - lo))
        else:
            parts.append(read_parent_or_zeros(parent, guest_offset + lo - within, hi - lo))
        i = j
    return b"".join(parts)


def _parent_ranges(parent: ByteSource, size: int) -> Iterator[DataRange]:
    end = min(size, parent.size)
    if not isinstance(parent, SparseSource):
        if end > 0:
            yield DataRange(0, end)
        return
    for r in parent.data_ranges():
        if r.offset >= end:
            break
        yield DataRange(r.offset, min(r.length, end - r.offset))


def merge_data_ranges(
    own: Iterator[DataRange], parent: ByteSource | None, size: int
) -> Iterator[DataRange]:
    """Ascending, coalesced union of this image's ranges and its parent's (up to ``size``)."""
    if parent is None:
        yield from own
        return
    start, stop = -1, -1
    for r in heapq.merge(own, _parent_ranges(parent, size), key=lambda r: r.offset):
        if r.length <= 0:
            continue
        if start >= 0 and r.offset <= stop:
            stop = max(stop, r.offset + r.length)
            continue
        if start >= 0:
            yield DataRange(start, stop - start)
        start, stop = r.offset, r.offset + r.length
    if start >= 0:
        yield DataRange(start, stop - start)
