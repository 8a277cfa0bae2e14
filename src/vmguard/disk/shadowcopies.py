"""NTFS Volume Shadow Copy stores, read through libvshadow (pyvshadow, LGPL-3.0).

Windows keeps earlier states of an NTFS volume (restore points, backups) as shadow copy
stores inside the volume itself; an old SAM or answer file there is a leak like a live
one. Each store is presented as a read-only ``ByteSource`` of the volume as it was, and
opened with the same NTFS reader as the live volume. libvshadow gets a file object over
the volume's bytes, never a path. The number of stores is bounded (``MAX_STORES``); a
store catalog that does not hold raises ``CorruptImage``, recorded by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyvshadow

from vmguard.disk.errors import CorruptImage, LimitExceeded
from vmguard.disk.filesystems import Filesystem, FsSignature, one_line
from vmguard.disk.fskind import FsKind
from vmguard.disk.source import ByteSource, SourceFile, clamp

MAX_STORES = 64
"""Windows keeps at most 64 shadow copies per volume; more means a hostile catalog."""
_ERRORS = (OSError, ValueError, TypeError, OverflowError, MemoryError)


class StoreSource:
    """The bytes of a volume as one shadow copy store recorded them (``ByteSource``)."""

    def __init__(self, store: Any, size: int) -> None:
        self._store = store
        self._size = size

    @property
    def size(self) -> int:
        """The volume's size when the copy was made."""
        return self._size

    def read_at(self, offset: int, length: int) -> bytes:
        """Positional read through libvshadow's block map."""
        length = clamp(offset, length, self._size)
        if length == 0:
            return b""
        try:
            data: bytes = self._store.read_buffer_at_offset(length, offset)
        except _ERRORS as err:
            raise CorruptImage(f"shadow copy store: unreadable block: {one_line(err)}") from err
        return data


@dataclass(frozen=True, slots=True)
class ShadowStore:
    """One shadow copy of a volume, opened as a filesystem."""

    index: int
    """1-based, in the catalog's order (oldest first)."""
    created: int
    """Creation time, seconds since the epoch (0 when unknown)."""
    filesystem: Filesystem = field(repr=False)


def has_shadow_copies(source: ByteSource) -> bool:
    """Whether the volume carries a shadow copy volume header (at 0x1E00)."""
    try:
        return bool(pyvshadow.check_volume_signature_file_object(SourceFile(source)))
    except _ERRORS:
        return False


def open_shadow_stores(source: ByteSource, signature: FsSignature) -> list[ShadowStore]:
    """Every shadow copy store of an NTFS volume, each opened as NTFS; [] when none."""
    if not has_shadow_copies(source):
        return []
    volume = pyvshadow.volume()
    try:
        volume.open_file_object(SourceFile(source))
        count = int(volume.get_number_of_stores())
    except _ERRORS as err:
        raise CorruptImage(f"shadow copy catalog cannot be read: {one_line(err)}") from err
    if count > MAX_STORES:
        raise LimitExceeded(f"shadow copy catalog lists {count} stores (limit {MAX_STORES})")
    stores = []
    for index in range(count):
        try:
            store = volume.get_store(index)
            size = int(store.get_volume_size())
            created = int(store.get_creation_time_as_integer())
        except _ERRORS as err:
            raise CorruptImage(f"shadow copy store {index + 1}: {one_line(err)}") from err
        if not 0 < size <= source.size * 2:
            raise CorruptImage(f"shadow copy store {index + 1}: implausible size {size}")
        filesystem = Filesystem(FsKind.NTFS, StoreSource(store, size), signature)
        epoch = max(0, created // 10_000_000 - 11_644_473_600)
        stores.append(ShadowStore(index + 1, epoch, filesystem))
    return stores
