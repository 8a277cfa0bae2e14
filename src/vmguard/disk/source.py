"""Random-access byte sources: the one interface between every layer of the disk stack.

A container (qcow2, VMDK, ...) turns a host file into the guest-visible virtual disk, a
partition table turns a disk into partitions, and a filesystem reader consumes one: each of
them is a ``ByteSource`` (defined in ``bytesource``, re-exported here). Reads are
positional (no shared cursor), so one source can serve several readers and threads. Every
read of a walk passes through this module, which ``vmguard.native`` compiles.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from vmguard.disk.bytesource import ByteSource, DataRange, SparseSource
from vmguard.disk.errors import CorruptImage, ImageRefused, UnreadableFile
from vmguard.errors import VmguardError

__all__ = [
    "ByteSource",
    "DataRange",
    "FileSource",
    "SliceSource",
    "SourceFile",
    "SparseSource",
    "clamp",
    "coalesce",
]


def coalesce(spans: Iterable[tuple[int, int]]) -> Iterator[DataRange]:
    """Ascending ``[lo, hi)`` spans as DataRanges, joined where one ends as the next starts."""
    start = end = -1
    for lo, hi in spans:
        if lo == end:
            end = hi
            continue
        if end > start >= 0:
            yield DataRange(start, end - start)
        start, end = lo, hi
    if end > start >= 0:
        yield DataRange(start, end - start)


def clamp(offset: int, length: int, size: int) -> int:
    """How many bytes a read of ``length`` at ``offset`` yields on a source of ``size``."""
    if offset < 0 or length < 0:
        raise ValueError(f"negative read: offset={offset} length={length}")
    return max(0, min(length, size - offset))


class FileSource:
    """A host file opened read-only; the image itself, never a path the image names."""

    def __init__(self, path: Path, *, identity: tuple[int, int] | None = None) -> None:
        """Open ``path``. The user names paths as they like; a path an image named was
        vetted by HostPathPolicy and comes with the (device, inode) vetted: then the final
        component may not be a symlink, a FIFO cannot block the open, and the file opened
        must be the regular file that was checked (nothing swapped in between)."""
        self.path = path
        flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
        if identity is not None:
            flags |= os.O_NOFOLLOW | os.O_NONBLOCK
        try:
            self._fd = os.open(path, flags)
        except OSError as err:
            if identity is None:
                raise UnreadableFile(f"{path}: cannot open ({err.strerror or err})") from err
            raise ImageRefused(f"{path}: changed while being opened ({err.strerror})") from err
        st = os.fstat(self._fd)
        if identity is not None and (
            not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != identity
        ):
            os.close(self._fd)
            self._fd = -1
            raise ImageRefused(f"{path}: replaced between the policy check and the open")
        self._size = st.st_size

    @property
    def size(self) -> int:
        return self._size

    def read_at(self, offset: int, length: int) -> bytes:
        n = clamp(offset, length, self._size)
        if n == 0:
            return b""
        data = self._pread(n, offset)
        if len(data) < n:
            # The file shrank under us, or a short read: pad is wrong, fail loudly.
            chunks = [data]
            got = len(data)
            while got < n:
                more = self._pread(n - got, offset + got)
                if not more:
                    raise CorruptImage(f"{self.path}: short read at offset {offset + got}")
                chunks.append(more)
                got += len(more)
            data = b"".join(chunks)
        return data

    def _pread(self, length: int, offset: int) -> bytes:
        # The one place host I/O errors of an image become vmguard's error.
        try:
            return os.pread(self._fd, length, offset)
        except OSError as err:
            raise UnreadableFile(f"{self.path}: cannot read ({err.strerror or err})") from err

    def read_into(self, offset: int, buffer: memoryview) -> None:
        """Fill ``buffer`` with the bytes at ``offset`` (no allocation: hot loops reuse it)."""
        got, want = 0, len(buffer)
        if offset + want > self._size:
            raise CorruptImage(f"{self.path}: read past the end at offset {offset}")
        while got < want:
            try:
                n = os.preadv(self._fd, [buffer[got:]], offset + got)
            except OSError as err:
                raise UnreadableFile(f"{self.path}: cannot read ({err.strerror})") from err
            if n <= 0:
                raise CorruptImage(f"{self.path}: short read at offset {offset + got}")
            got += n

    def data_ranges(self) -> Iterator[DataRange]:
        """Allocated ranges from SEEK_DATA/SEEK_HOLE; the whole file where unsupported."""
        pos = 0
        while pos < self._size:
            try:
                start = os.lseek(self._fd, pos, os.SEEK_DATA)
                end = os.lseek(self._fd, start, os.SEEK_HOLE)
            except OSError as err:
                if err.errno != errno.ENXIO:
                    # No hole detection here (EINVAL, EOPNOTSUPP...): all of the rest may hold
                    # data. Never report it as holes: sign and verify would hash zeros.
                    yield DataRange(pos, self._size - pos)
                return  # ENXIO: no data after pos
            yield DataRange(start, min(end, self._size) - start)
            pos = end

    def close(self) -> None:
        """Release the file descriptor."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        fd = getattr(self, "_fd", -1)
        if fd >= 0:
            os.close(fd)


class SliceSource:
    """A window of another source: a partition, a logical volume, an OVA member."""

    def __init__(self, parent: ByteSource, offset: int, length: int) -> None:
        if offset < 0 or length < 0:
            raise CorruptImage(f"invalid slice offset={offset} length={length}")
        if offset + length > parent.size:
            raise CorruptImage(
                f"slice {offset}+{length} extends beyond its container of {parent.size} bytes"
            )
        self.parent = parent
        self.offset = offset
        self._size = length

    @property
    def size(self) -> int:
        return self._size

    def read_at(self, offset: int, length: int) -> bytes:
        n = clamp(offset, length, self._size)
        if n == 0:
            return b""
        return self.parent.read_at(self.offset + offset, n)

    def data_ranges(self) -> Iterator[DataRange]:
        """The parent's allocated ranges clipped to this window."""
        if not isinstance(self.parent, SparseSource):
            yield DataRange(0, self._size)
            return
        end = self.offset + self._size
        for r in self.parent.data_ranges():
            lo, hi = max(r.offset, self.offset), min(r.offset + r.length, end)
            if lo < hi:
                yield DataRange(lo - self.offset, hi - lo)
            if r.offset >= end:
                break


_SMALL_READ = 4096
"""Reads below this size go through ``SourceFile``'s read-ahead window."""
_READ_AHEAD = 16 * 1024


class SourceFile:
    """A file-like object over a source, for C readers (libyal) that want read/seek/tell."""

    def __init__(self, source: ByteSource) -> None:
        self._source = source
        self._pos = 0
        self._window = b""
        self._window_at = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._source.size - self._pos
        pos, start = self._pos, self._window_at
        if start <= pos and pos + size <= start + len(self._window):
            data = self._window[pos - start : pos - start + size]
        elif size < _SMALL_READ:
            data = self._read_ahead(pos, size)
        else:
            data = self._source.read_at(pos, size)
        self._pos += len(data)
        return data

    def _read_ahead(self, pos: int, size: int) -> bytes:
        """A small read, served from a window read ahead of it: libyal readers walk group
        descriptors, inode tables and MFT entries in reads of 32 bytes to 1 KiB, each a
        call back into Python; a hostile ext superblock with 4,000 groups cost 76,000 of
        them (fuzzing). Where reading ahead fails (a broken cluster past the bytes asked
        for), the read is retried as asked, so an error is only ever about those bytes."""
        try:
            window = self._source.read_at(pos, _READ_AHEAD)
        except VmguardError:
            self._window = b""
            return self._source.read_at(pos, size)
        self._window, self._window_at = window, pos
        return window[:size]

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            pos = offset
        elif whence == os.SEEK_CUR:
            pos = self._pos + offset
        elif whence == os.SEEK_END:
            pos = self._source.size + offset
        else:
            raise OSError(f"unsupported whence {whence}")
        if pos < 0:
            raise OSError("seek before start")
        self._pos = pos
        return pos

    def tell(self) -> int:
        return self._pos

    def get_size(self) -> int:
        return self._source.size

    def get_offset(self) -> int:
        return self._pos

    def close(self) -> None:
        """Nothing to release: the source outlives its file views."""
