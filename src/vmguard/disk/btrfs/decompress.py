"""Decompression of btrfs extents (zlib, LZO, zstd), bounded by what btrfs can produce.

btrfs compresses at most 128 KiB of file data per extent, and an inline extent holds at most
one sector: an extent that claims more is refused before any work. Output is capped at the
claimed size, so a decompression bomb stops at that size, never grows memory; a zstd frame
asking for a window over 1 MiB (btrfs writes at most 128 KiB) is refused.
"""

from __future__ import annotations

import io
import zlib

import lzokay
import zstandard

from vmguard.disk.errors import CorruptImage, LimitExceeded

MAX_COMPRESSED_EXTENT = 128 * 1024
"""BTRFS_MAX_UNCOMPRESSED: the most one compressed extent may expand to."""
_LZO_SEGMENT_HEADER = 4
_ZSTD_MAX_WINDOW = 1 << 20


def decompress(method: int, data: bytes, size: int, sectorsize: int) -> bytes:
    """The first ``size`` bytes of an extent compressed with ``method`` (1 zlib, 2 lzo,
    3 zstd), zero-padded when the stream ends early (btrfs zero-fills the tail too)."""
    if size > MAX_COMPRESSED_EXTENT:
        raise LimitExceeded(f"btrfs compressed extent claims {size} bytes (limit 128 KiB)")
    if method == 1:
        out = _zlib(data, size)
    elif method == 2:
        out = _lzo(data, size, sectorsize)
    elif method == 3:
        out = _zstd(data, size)
    else:
        raise CorruptImage(f"btrfs extent uses unknown compression {method}")
    return out + bytes(size - len(out)) if len(out) < size else out[:size]


def _zlib(data: bytes, size: int) -> bytes:
    try:
        return zlib.decompressobj().decompress(data, size)
    except zlib.error as err:
        raise CorruptImage(f"btrfs zlib extent does not decompress: {err}") from err


def _zstd(data: bytes, size: int) -> bytes:
    try:
        reader = zstandard.ZstdDecompressor(max_window_size=_ZSTD_MAX_WINDOW).stream_reader(
            io.BytesIO(data), read_across_frames=False
        )
        return reader.read(size)
    except zstandard.ZstdError as err:
        raise CorruptImage(f"btrfs zstd extent does not decompress: {err}") from err


def _lzo(data: bytes, size: int, sectorsize: int) -> bytes:
    """btrfs LZO framing: a 32-bit total length, then per sector of output a 32-bit segment
    length and an LZO1X stream; a segment header never straddles a sector boundary."""
    if len(data) < _LZO_SEGMENT_HEADER:
        raise CorruptImage("btrfs LZO extent is truncated")
    total = int.from_bytes(data[:4], "little")
    if total > len(data) or total < _LZO_SEGMENT_HEADER:
        raise CorruptImage("btrfs LZO extent length does not match its data")
    parts: list[bytes] = []
    produced = 0
    pos = _LZO_SEGMENT_HEADER
    while produced < size and pos < total:
        left_in_sector = sectorsize - pos % sectorsize
        if left_in_sector < _LZO_SEGMENT_HEADER:
            pos += left_in_sector
            continue
        seg_len = int.from_bytes(data[pos : pos + 4], "little")
        pos += _LZO_SEGMENT_HEADER
        if seg_len == 0 or pos + seg_len > total:
            raise CorruptImage("btrfs LZO segment runs past its extent")
        want = min(sectorsize, size - produced)
        try:
            # A segment holds up to one sector; lzokay zero-fills what the stream leaves.
            parts.append(lzokay.decompress(data[pos : pos + seg_len], sectorsize)[:want])
        except lzokay.LzokayError as err:
            raise CorruptImage(f"btrfs LZO segment does not decompress: {err}") from err
        produced += want
        pos += seg_len
    return b"".join(parts)
