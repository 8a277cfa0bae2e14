"""qcow2 (v2 and v3) in pure Python: a host file in, the guest-visible virtual disk out.

We read qcow2 ourselves because libqcow-python misreads compressed clusters. The reader is
bounded: the header is validated before any table is read (``qcow2_header``), the L1 table
is capped by ``Limits.max_table_bytes``, decoded L2 tables live in a bounded LRU, every
host offset is checked against the end of its file when used, and compressed clusters
inflate to at most one cluster. It must never open a host file itself: a backing file or
external data file is reached only through the ``ReferenceOpener`` it is given, and a
backing file without a declared format is refused rather than probed.
"""

from __future__ import annotations

import struct
import zlib
from array import array

from vmguard.disk.containers.interface import (
    Container,
    Reference,
    ReferenceKind,
    ReferenceOpener,
)
from vmguard.disk.containers.qcow2_compressed import inflater_for
from vmguard.disk.containers.qcow2_disk import Qcow2Disk, decode_u64_be
from vmguard.disk.containers.qcow2_header import QCOW2_MAGIC, Qcow2Header, parse_header
from vmguard.disk.errors import CorruptImage, ImageRefused
from vmguard.disk.limits import Limits
from vmguard.disk.source import ByteSource
from vmguard.text import shown_name

__all__ = ["QCOW2_MAGIC", "Qcow2Disk", "open_qcow2"]


def _read_l1(source: ByteSource, header: Qcow2Header) -> array[int]:
    length = header.l1_entries * 8
    raw = source.read_at(header.l1_offset, length)
    if len(raw) != length:
        raise CorruptImage("Active L1 table exceeds the end of the file")
    return decode_u64_be(raw)


def _open_references(
    header: Qcow2Header, open_reference: ReferenceOpener
) -> tuple[tuple[Reference, ...], ByteSource | None, ByteSource | None]:
    """Ask the opener for the data file and backing file; returns (refs, data, backing)."""
    references: list[Reference] = []
    data = backing = None
    if header.data_file_name is not None and not header.has_data_file:
        raise ImageRefused(
            f"qcow2 names external data file {shown_name(header.data_file_name)!r} without "
            "the data-file feature bit: refusing the inconsistent image"
        )
    if header.has_data_file:
        if header.data_file_name is None:
            raise ImageRefused("qcow2 keeps its data in an external data file but does not name it")
        reference = Reference(ReferenceKind.DATA_FILE, header.data_file_name)
        references.append(reference)
        data = open_reference(reference)
    if header.backing_name is not None:
        if header.backing_format is None:
            raise ImageRefused(
                f"qcow2 backing file {shown_name(header.backing_name)!r} has no declared "
                "format; refusing to probe it (set one with qemu-img rebase -u -F)"
            )
        reference = Reference(
            ReferenceKind.BACKING_FILE, header.backing_name, format=header.backing_format
        )
        references.append(reference)
        backing = open_reference(reference)
    return tuple(references), data, backing


def open_qcow2(source: ByteSource, *, limits: Limits, open_reference: ReferenceOpener) -> Container:
    """Open the qcow2 image in ``source`` and return its guest-visible disk.

    Raises ``CorruptImage``/``LimitExceeded`` for a malformed image, ``UnsupportedFormat``
    for a version, feature or encryption vmguard does not read, and ``ImageRefused`` for a
    backing file without a declared format or an inconsistent data-file declaration. A
    backing or data file is opened only through ``open_reference``.
    """
    try:
        header = parse_header(source, limits)
        inflate = inflater_for(header.compression_type)
        l1 = _read_l1(source, header)
    except (struct.error, IndexError, OverflowError, zlib.error) as err:
        raise CorruptImage(f"malformed qcow2 header: {err}") from err
    references, data, backing = _open_references(header, open_reference)
    disk = Qcow2Disk(
        image=source,
        header=header,
        l1=l1,
        data=data if data is not None else source,
        backing=backing,
        inflate=inflate,
        limits=limits,
    )
    return Container(format="qcow2", variant=f"v{header.version}", disk=disk, references=references)
