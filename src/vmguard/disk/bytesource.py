"""The interface between every layer of the disk stack: ``ByteSource`` and its ranges.

Kept apart from the sources themselves (``vmguard.disk.source``, which re-exports these
names): the checks ``isinstance(x, ByteSource)`` need runtime-checkable protocols, which
stay interpreted, while the sources every read passes through are compiled.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@runtime_checkable
class ByteSource(Protocol):
    """Read-only random access to a fixed number of bytes."""

    @property
    def size(self) -> int:
        """Number of bytes addressable."""
        ...

    def read_at(self, offset: int, length: int) -> bytes:
        """Return ``min(length, size - offset)`` bytes from ``offset`` (empty past the end)."""
        ...


@dataclass(frozen=True, slots=True)
class DataRange:
    """A range of a source that may hold non-zero data; everything outside reads as zeros."""

    offset: int
    length: int


@runtime_checkable
class SparseSource(ByteSource, Protocol):
    """A source that knows which of its ranges are allocated."""

    def data_ranges(self) -> Iterator[DataRange]:
        """Yield ascending, non-overlapping ranges that may hold data."""
        ...
