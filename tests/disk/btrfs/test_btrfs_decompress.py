"""Bounded decompression of btrfs extents, on streams made by the real compressors.

A stream that expands past what the extent claims stops at the claim; a claim larger than
btrfs can produce is refused before any work; LZO's per-sector segment framing (headers
never straddle a sector) is followed.
"""

from __future__ import annotations

import random
import zlib

import lzokay
import pytest
import zstandard

from vmguard.disk.btrfs.decompress import MAX_COMPRESSED_EXTENT, decompress
from vmguard.disk.errors import CorruptImage, LimitExceeded

SECTOR = 4096


def _lzo_extent(data: bytes) -> bytes:
    """btrfs LZO framing, as fs/btrfs/lzo.c writes it."""
    out = bytearray(4)
    for start in range(0, len(data), SECTOR):
        segment = lzokay.compress(data[start : start + SECTOR])
        if SECTOR - len(out) % SECTOR < 4:
            out += bytes(SECTOR - len(out) % SECTOR)
        out += len(segment).to_bytes(4, "little") + segment
    out[:4] = len(out).to_bytes(4, "little")
    return bytes(out)


def _sample() -> bytes:
    rng = random.Random(3)
    return b"".join(rng.choice([b"alpha ", b"beta ", rng.randbytes(7)]) for _ in range(20000))[
        :MAX_COMPRESSED_EXTENT
    ]


@pytest.mark.parametrize(
    ("method", "compress"),
    [
        (1, zlib.compress),
        (2, _lzo_extent),
        (3, lambda d: zstandard.ZstdCompressor(level=3).compress(d)),
    ],
    ids=["zlib", "lzo", "zstd"],
)
def test_round_trip_and_bounds(method: int, compress) -> None:
    data = _sample()
    stored = compress(data) + bytes(700)  # extents are padded to the sector
    assert decompress(method, stored, len(data), SECTOR) == data
    # A claim shorter than the stream: output stops there.
    assert decompress(method, stored, 1000, SECTOR) == data[:1000]


@pytest.mark.parametrize("method", [1, 3])
def test_a_bomb_stops_at_the_claimed_size(method: int) -> None:
    zeros = bytes(64 * 1024 * 1024)
    btrfs_zstd = zstandard.ZstdCompressor(
        compression_params=zstandard.ZstdCompressionParameters(window_log=17)
    )
    bomb = zlib.compress(zeros, 9) if method == 1 else btrfs_zstd.compress(zeros)
    assert decompress(method, bomb, MAX_COMPRESSED_EXTENT, SECTOR) == bytes(MAX_COMPRESSED_EXTENT)


def test_a_zstd_window_beyond_what_btrfs_writes_is_refused() -> None:
    wide = zstandard.ZstdCompressor(
        compression_params=zstandard.ZstdCompressionParameters(window_log=27)
    ).compress(bytes(64 * 1024 * 1024))
    with pytest.raises(CorruptImage, match="too much memory"):
        decompress(3, wide, MAX_COMPRESSED_EXTENT, SECTOR)


def test_a_claim_beyond_what_btrfs_writes_is_refused() -> None:
    with pytest.raises(LimitExceeded, match="claims 1073741824 bytes"):
        decompress(1, zlib.compress(b"x"), 1 << 30, SECTOR)


@pytest.mark.parametrize("method", [1, 2, 3])
def test_garbage_is_corrupt_not_a_crash(method: int) -> None:
    garbage = random.Random(method).randbytes(5000)
    try:
        out = decompress(method, garbage, 8192, SECTOR)
    except CorruptImage:
        return
    assert len(out) == 8192


def test_lzo_segment_running_past_the_extent() -> None:
    stored = bytearray(_lzo_extent(_sample()[: SECTOR * 3]))
    stored[4:8] = (1 << 30).to_bytes(4, "little")
    with pytest.raises(CorruptImage, match="runs past its extent"):
        decompress(2, bytes(stored), SECTOR * 3, SECTOR)
