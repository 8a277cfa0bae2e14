"""FileSource: holes from SEEK_DATA/SEEK_HOLE, and never holes where the host cannot say."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from vmguard.disk.errors import CorruptImage, ImageRefused
from vmguard.disk.source import DataRange, FileSource, SourceFile
from vmguard.integrity.merkle import hash_source

MiB = 1024 * 1024


def _sparse(path: Path) -> Path:
    with open(path, "wb") as fh:
        fh.truncate(64 * MiB)
        fh.seek(10 * MiB)
        fh.write(b"x" * MiB)
    return path


def test_data_ranges_follow_the_holes(tmp_path: Path) -> None:
    with FileSource(_sparse(tmp_path / "s.raw")) as source:
        ranges = list(source.data_ranges())
    assert len(ranges) == 1 and ranges[0].offset <= 10 * MiB < ranges[0].offset + ranges[0].length


def test_no_hole_detection_means_all_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A filesystem without SEEK_DATA (EINVAL) must not make the file look empty: sign and
    verify would hash zeros and accept any change."""
    path = _sparse(tmp_path / "s.raw")
    with FileSource(path) as source:
        honest = hash_source(source).root
    real_lseek = os.lseek

    def no_seek_data(fd: int, pos: int, how: int) -> int:
        if how in (os.SEEK_DATA, os.SEEK_HOLE):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_lseek(fd, pos, how)

    monkeypatch.setattr(os, "lseek", no_seek_data)
    with FileSource(path) as source:
        assert list(source.data_ranges()) == [DataRange(0, 64 * MiB)]
        assert hash_source(source).root == honest


def test_a_vetted_path_must_still_be_the_vetted_file(tmp_path: Path) -> None:
    """Between HostPathPolicy's check and the open, a writer of the image directory could
    swap the file for a symlink to a host file or for a FIFO (a blocking open): refused."""
    vetted = tmp_path / "base.qcow2"
    vetted.write_bytes(b"base")
    st = os.stat(vetted)
    identity = (st.st_dev, st.st_ino)
    with FileSource(vetted, identity=identity) as source:
        assert source.read_at(0, 4) == b"base"
    outside = tmp_path / "outside-secret"
    outside.write_bytes(b"secret")
    vetted.unlink()
    vetted.symlink_to(outside)
    with pytest.raises(ImageRefused, match="changed while being opened"):
        FileSource(vetted, identity=identity)
    vetted.unlink()
    os.mkfifo(vetted)  # would block a plain open for reading
    with pytest.raises(ImageRefused, match="replaced"):
        FileSource(vetted, identity=identity)


def test_host_io_errors_are_unreadable_file(tmp_path: Path) -> None:
    from vmguard.disk.errors import UnreadableFile

    with pytest.raises(UnreadableFile, match="cannot open"):
        FileSource(tmp_path / ("n" * 300))  # ENAMETOOLONG
    source = FileSource(tmp_path)  # a directory opens, and then EISDIR on every read
    if source.size:
        with pytest.raises(UnreadableFile, match="cannot read"):
            source.read_at(0, 16)


class _CountingSource:
    """Bytes whose reads are counted; reads touching ``broken_from`` on fail like a bad
    cluster would."""

    def __init__(self, data: bytes, broken_from: int | None = None) -> None:
        self.data, self.broken_from, self.reads = data, broken_from, 0

    @property
    def size(self) -> int:
        return len(self.data)

    def read_at(self, offset: int, length: int) -> bytes:
        self.reads += 1
        if self.broken_from is not None and offset + length > self.broken_from:
            raise CorruptImage(f"cluster at {self.broken_from} is unreadable")
        return self.data[offset : offset + length]


def test_small_reads_share_a_read_ahead_window() -> None:
    data = bytes(range(256)) * 1024
    source = _CountingSource(data)
    file = SourceFile(source)  # type: ignore[arg-type]
    for n in range(512):  # 512 group descriptors of 32 bytes, as libfsext reads them
        file.seek(2048 + 32 * n)
        assert file.read(32) == data[2048 + 32 * n : 2080 + 32 * n]
    assert source.reads == 1
    file.seek(100)
    assert file.read(8) == data[100:108]  # before the window: read again
    file.seek(len(data) - 5)
    assert file.read(32) == data[-5:]  # short at the end, as the source is
    file.seek(0)
    assert file.read(8192) == data[:8192]  # a large read goes straight to the source


def test_read_ahead_never_fails_a_read_of_good_bytes() -> None:
    source = _CountingSource(bytes(64 * 1024), broken_from=10_000)
    file = SourceFile(source)  # type: ignore[arg-type]
    file.seek(9000)
    assert file.read(512) == bytes(512)
    file.seek(9990)
    with pytest.raises(CorruptImage, match="cluster at 10000"):
        file.read(20)
