"""Raw images: the file is the disk. No structure is interpreted, so nothing is named.

A file whose size is not a whole number of 512-byte sectors is a disk of the next whole
sector count, its tail read as zeros: that is the virtual size qemu gives it (and a guest
cannot address part of a sector).
"""

from __future__ import annotations

from collections.abc import Iterator

from vmguard.disk.containers.interface import Container
from vmguard.disk.source import ByteSource, DataRange, SparseSource, clamp

SECTOR = 512


class ZeroPaddedSource:
    """A source followed by zeros up to ``size`` (never fewer bytes than the source)."""

    def __init__(self, inner: ByteSource, size: int) -> None:
        self._inner = inner
        self._size = max(size, inner.size)

    @property
    def size(self) -> int:
        return self._size

    def read_at(self, offset: int, length: int) -> bytes:
        n = clamp(offset, length, self._size)
        data = self._inner.read_at(offset, n) if n else b""
        return data + bytes(n - len(data))

    def data_ranges(self) -> Iterator[DataRange]:
        """The inner source's allocated ranges; the zero tail holds no data."""
        if isinstance(self._inner, SparseSource):
            yield from self._inner.data_ranges()
        elif self._inner.size:
            yield DataRange(0, self._inner.size)


def open_raw(source: ByteSource) -> Container:
    """A raw image's guest view is its bytes, unchanged, rounded up to whole sectors."""
    if source.size % SECTOR == 0:
        return Container(format="raw", variant="raw", disk=source)
    whole = -(-source.size // SECTOR) * SECTOR
    return Container(format="raw", variant="raw", disk=ZeroPaddedSource(source, whole))
