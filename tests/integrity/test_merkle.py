"""Merkle hashing: independent recomputation, sparse reads, bounded leaf decoding."""

from __future__ import annotations

import base64
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path

import blake3
import pytest

from vmguard.disk.errors import CorruptImage
from vmguard.disk.image import open_image
from vmguard.disk.source import DataRange, FileSource
from vmguard.integrity.errors import EnvelopeMalformed
from vmguard.integrity.leaves import Leaves, LeavesBuilder
from vmguard.integrity.merkle import (
    CHUNK_SIZE,
    DIGEST_SIZE,
    FILE_CHUNK_SIZE,
    hash_source,
    merkle_root,
    zero_leaf,
)


def independent_leaves(raw: Path, chunk: int) -> bytes:
    """Leaves computed the plain way: read every byte of a raw file, no hole skipping."""
    out = bytearray()
    with open(raw, "rb") as fh:
        while data := fh.read(chunk):
            out += blake3.blake3(b"\x00" + data).digest()
    return bytes(out)


def rfc6962_root(leaves: list[bytes]) -> bytes:
    """RFC 6962's recursive definition (split at the largest power of two below n)."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return blake3.blake3(b"\x01" + rfc6962_root(leaves[:k]) + rfc6962_root(leaves[k:])).digest()


class CountingSource:
    """A real FileSource that records which offsets were read (instrumentation)."""

    def __init__(self, inner: FileSource) -> None:
        self.inner = inner
        self.reads: list[int] = []

    @property
    def size(self) -> int:
        return self.inner.size

    def read_at(self, offset: int, length: int) -> bytes:
        self.reads.append(offset)
        return self.inner.read_at(offset, length)

    def data_ranges(self) -> Iterator[DataRange]:
        return self.inner.data_ranges()


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13, 64, 100])
def test_root_matches_rfc6962_recursion(count: int) -> None:
    zero = zero_leaf(CHUNK_SIZE)
    for pattern in range(6):  # all zero, all data, and mixes with zero runs at either end
        leaves = [
            zero if (i * 7 + pattern) % 5 < pattern else blake3.blake3(bytes([i])).digest()
            for i in range(count)
        ]
        builder = LeavesBuilder(zero)
        for leaf in leaves:
            builder.add(leaf)
        sparse = builder.build()
        assert sparse.dense() == b"".join(leaves)
        assert merkle_root(b"".join(leaves)) == rfc6962_root(leaves) == sparse.root()


def test_sparse_file_matches_full_read_and_skips_holes(tmp_path: Path) -> None:
    raw = tmp_path / "sparse.raw"
    with open(raw, "wb") as fh:
        fh.truncate(64 * 1024 * 1024 + 12345)  # a short last chunk too
        fh.seek(5 * 1024 * 1024 + 7)
        fh.write(b"data" * 1000)
        fh.seek(40 * 1024 * 1024)
        fh.write(b"\x01" * 3)
    source = CountingSource(FileSource(raw))
    digest = hash_source(source)
    expected = independent_leaves(raw, CHUNK_SIZE)
    assert digest.leaves.dense() == expected
    assert len(digest.leaves.indexes) == 3  # two data chunks and the short last one
    assert digest.root == rfc6962_root(
        [expected[i : i + DIGEST_SIZE] for i in range(0, len(expected), DIGEST_SIZE)]
    )
    assert len(source.reads) <= 4  # two 1 MiB blocks with data (a filesystem may round up)


def test_threaded_file_hashing_matches_a_plain_read(tmp_path: Path) -> None:
    """The verify fast path: threads reading into reused buffers, holes skipped, 1 MiB chunks."""
    raw = tmp_path / "mixed.raw"
    with open(raw, "wb") as fh:
        fh.truncate(50 * 1024 * 1024 + 999)
        for offset in (0, 3 * 1024 * 1024 + 5, 9 * 1024 * 1024, 30 * 1024 * 1024 - 2):
            fh.seek(offset)
            fh.write(bytes(range(256)) * 4096)  # 1 MiB of data, across block edges
        fh.seek(50 * 1024 * 1024 + 990)
        fh.write(b"tail")
    chunk = FILE_CHUNK_SIZE
    expected = independent_leaves(raw, chunk)
    with FileSource(raw) as source:
        threaded = hash_source(source, chunk_size=chunk, workers=3)
        serial = hash_source(source, chunk_size=chunk)
    assert threaded.leaves.dense() == serial.leaves.dense() == expected
    assert threaded.root == serial.root
    with FileSource(raw) as source:
        buffer = memoryview(bytearray(10))
        source.read_into(50 * 1024 * 1024 + 989, buffer)
        assert bytes(buffer) == b"\x00tail\x00\x00\x00\x00\x00"
        with pytest.raises(CorruptImage):
            source.read_into(source.size - 5, buffer)


def test_progress_reports_positions_up_to_the_end(tmp_path: Path) -> None:
    raw = tmp_path / "holes.raw"
    with open(raw, "wb") as fh:
        fh.truncate(40 * 1024 * 1024 + 5)
        fh.seek(20 * 1024 * 1024)
        fh.write(b"x" * 100)
    for workers in (1, 2):
        seen: list[int] = []
        with FileSource(raw) as source:
            hash_source(source, workers=workers, progress=seen.append)
        assert seen == sorted(seen) and seen[-1] == 40 * 1024 * 1024 + 5
        assert 2 <= len(seen) <= 4  # the data block and the end: holes are not walked


def test_content_digest_survives_qemu_img_convert(tmp_path: Path, sample_dir: Path) -> None:
    qcow2 = sample_dir / "sample.qcow2"
    raw = tmp_path / "plain.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", qcow2, raw], check=True)
    expected = independent_leaves(raw, CHUNK_SIZE)
    for fmt, opts in (("vmdk", ["-o", "subformat=streamOptimized"]), ("vhdx", []), ("qcow2", [])):
        out = tmp_path / f"converted.{fmt}"
        subprocess.run(["qemu-img", "convert", "-O", fmt, *opts, raw, out], check=True)
        disk = open_image(out).disks[0].disk
        assert hash_source(disk).leaves.dense() == expected, fmt


def test_leaf_encoding_round_trip_and_bounds() -> None:
    zero = zero_leaf(CHUNK_SIZE)
    builder = LeavesBuilder(zero)
    for i in range(1003):
        builder.add(bytes([i % 251]) * 32 if i % 100 == 3 else zero)
    leaves = builder.build()
    text = leaves.encode()
    assert Leaves.decode(text, 1003, zero, 10**6).dense() == leaves.dense()
    with pytest.raises(EnvelopeMalformed):
        Leaves.decode(text, 900, zero, 10**6)  # index 903 lies beyond the disk
    bomb = base64.b64encode(zlib.compress(bytes(512 * 1024 * 1024))).decode()
    with pytest.raises(EnvelopeMalformed):
        Leaves.decode(bomb, 10, zero, 10**6)
    unordered = zlib.compress((5).to_bytes(8, "big") + zero + (2).to_bytes(8, "big") + zero)
    with pytest.raises(EnvelopeMalformed):
        Leaves.decode(base64.b64encode(unordered).decode(), 10, zero, 10**6)
    with pytest.raises(EnvelopeMalformed):
        Leaves.decode("not base64!", 1, zero, 10**6)
    with pytest.raises(EnvelopeMalformed):
        Leaves.decode(text, 10**7, zero, 10**6)
