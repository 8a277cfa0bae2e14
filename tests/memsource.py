"""An in-memory ByteSource, for tests that build or mutate images as bytes."""

from __future__ import annotations


class BytesSource:
    """A ByteSource over bytes held in memory (read_at past the end returns less)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    @property
    def size(self) -> int:
        return len(self._data)

    def read_at(self, offset: int, length: int) -> bytes:
        return self._data[offset : offset + length]
