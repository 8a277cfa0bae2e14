"""Reads of a file an image named, with every failure withheld.

A backing file, parent, data file or extent is read lazily, long after it was opened: a scan
reads its clusters when a guest file needs them. A failure there (a corrupt L2 table in the
backing file, a compressed cluster that does not inflate, an I/O error) must say no more
than the failure while opening it would: ``withheld`` rewrites it so no byte, name or size
of the referenced file reaches an error message, a report's ``errors`` or a log.
"""

from __future__ import annotations

from collections.abc import Iterator

from vmguard.disk.errors import CorruptImage, DiskError, withheld
from vmguard.disk.source import ByteSource, DataRange, SparseSource


class ReferencedSource:
    """A ``ByteSource`` over a referenced file's bytes whose errors quote nothing of it."""

    def __init__(self, inner: ByteSource, what: str) -> None:
        """``what`` names the reference as the naming image stores it (already printable)."""
        self._inner = inner
        self._what = what

    @property
    def size(self) -> int:
        return self._inner.size

    def read_at(self, offset: int, length: int) -> bytes:
        try:
            return self._inner.read_at(offset, length)
        except DiskError as err:
            raise withheld(err, self._what) from None
        except OSError:
            raise withheld(CorruptImage("unreadable"), self._what) from None


class ReferencedSparseSource(ReferencedSource):
    """``ReferencedSource`` for a source that also knows its allocated ranges."""

    def __init__(self, inner: SparseSource, what: str) -> None:
        super().__init__(inner, what)
        self._sparse = inner

    def data_ranges(self) -> Iterator[DataRange]:
        try:
            yield from self._sparse.data_ranges()
        except DiskError as err:
            raise withheld(err, self._what) from None
        except OSError:
            raise withheld(CorruptImage("unreadable"), self._what) from None


def referenced(source: ByteSource, what: str) -> ByteSource:
    """``source`` wrapped so its failures are withheld, keeping its ``SparseSource`` side."""
    if isinstance(source, SparseSource):
        return ReferencedSparseSource(source, what)
    return ReferencedSource(source, what)
