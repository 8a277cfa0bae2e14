"""Decoding of one rpm header blob, as the rpm databases store it (``headerExport``).

Layout: ``il`` and ``dl`` (big-endian uint32), ``il`` index entries of 16 bytes (tag,
type, offset, count), then ``dl`` bytes of data. Region entries (tags 61-63) only
describe how the header was signed and are skipped. Every count and offset is checked
against the blob before it is used; a bad header raises ``GuestFactsError``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vmguard.guest.errors import GuestFactsError
from vmguard.guest.facts import InstalledPackage, guest_text

MAX_INDEX_ENTRIES = 0xFFFF
"""Largest ``il`` accepted (rpm's own hdrchkTags bound)."""
MAX_DATA_BYTES = 256 * 1024 * 1024
"""Largest ``dl`` accepted (rpm's own hdrchkData bound)."""

TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_ARCH, TAG_SOURCERPM = (
    1000,
    1001,
    1002,
    1003,
    1022,
    1044,
)
_WANTED_TAGS = {TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_ARCH, TAG_SOURCERPM}
_TYPE_INT32, _TYPE_STRING, _TYPE_STRING_ARRAY, _TYPE_I18NSTRING = 4, 6, 8, 9
_ENTRY = struct.Struct(">iIiI")
_MAX_STRING = 4096


@dataclass(frozen=True, slots=True, kw_only=True)
class RpmHeaderFields:
    """The fields of a header vmguard uses."""

    name: str
    version: str
    release: str
    epoch: int | None
    arch: str
    sourcerpm: str


def _string_at(data: bytes, offset: int, tag: int) -> str:
    """The NUL-terminated string at ``offset`` of the data store."""
    end = data.find(b"\x00", offset, offset + _MAX_STRING + 1)
    if end < 0:
        raise GuestFactsError("", f"rpm header tag {tag}: unterminated string")
    return guest_text(data[offset:end])


def parse_header(blob: bytes) -> RpmHeaderFields:
    """NAME, VERSION, RELEASE, EPOCH, ARCH and SOURCERPM of a header blob.

    Raises ``GuestFactsError`` when the blob is truncated, its counts exceed rpm's own
    bounds, an entry points outside the data store, or NAME/VERSION are missing.
    """
    if len(blob) < 8:
        raise GuestFactsError("", "rpm header shorter than 8 bytes")
    index_count, data_length = struct.unpack_from(">II", blob, 0)
    if index_count == 0 or index_count > MAX_INDEX_ENTRIES:
        raise GuestFactsError("", f"rpm header index count {index_count} out of bounds")
    if data_length > MAX_DATA_BYTES:
        raise GuestFactsError("", f"rpm header data length {data_length} out of bounds")
    data_start = 8 + index_count * _ENTRY.size
    if len(blob) < data_start + data_length:
        raise GuestFactsError("", "rpm header truncated")
    data = blob[data_start : data_start + data_length]
    values: dict[int, str | int] = {}
    for index in range(index_count):
        tag, kind, offset, count = _ENTRY.unpack_from(blob, 8 + index * _ENTRY.size)
        if tag not in _WANTED_TAGS or tag in values:
            continue
        if offset < 0 or offset >= data_length or count == 0:
            raise GuestFactsError("", f"rpm header tag {tag}: offset {offset} out of bounds")
        if kind in (_TYPE_STRING, _TYPE_STRING_ARRAY, _TYPE_I18NSTRING):
            values[tag] = _string_at(data, offset, tag)
        elif kind == _TYPE_INT32 and offset % 4 == 0 and offset + 4 <= data_length:
            values[tag] = struct.unpack_from(">I", data, offset)[0]
        else:
            raise GuestFactsError("", f"rpm header tag {tag}: unexpected type {kind}")
    name, version = values.get(TAG_NAME), values.get(TAG_VERSION)
    if not isinstance(name, str) or not isinstance(version, str) or not name:
        raise GuestFactsError("", "rpm header without NAME or VERSION")
    epoch = values.get(TAG_EPOCH)
    return RpmHeaderFields(
        name=name,
        version=version,
        release=str(values.get(TAG_RELEASE, "")),
        epoch=epoch if isinstance(epoch, int) else None,
        arch=str(values.get(TAG_ARCH, "")),
        sourcerpm=str(values.get(TAG_SOURCERPM, "")),
    )


def split_sourcerpm(sourcerpm: str) -> tuple[str, str]:
    """(name, version-release) of a source rpm file name such as ``bash-5.1-6.src.rpm``."""
    for suffix in (".src.rpm", ".nosrc.rpm"):
        if sourcerpm.endswith(suffix):
            parts = sourcerpm[: -len(suffix)].rsplit("-", 2)
            if len(parts) == 3 and all(parts):
                return parts[0], f"{parts[1]}-{parts[2]}"
    return "", ""


def package_from_header(blob: bytes) -> InstalledPackage:
    """An InstalledPackage (manager ``rpm``) from a header blob; version
    ``[epoch:]version-release`` as rpm compares it."""
    fields = parse_header(blob)
    version = fields.version
    if fields.release:
        version = f"{version}-{fields.release}"
    if fields.epoch is not None:
        version = f"{fields.epoch}:{version}"
    source_name, source_version = split_sourcerpm(fields.sourcerpm)
    return InstalledPackage(
        name=fields.name,
        version=version,
        arch=fields.arch,
        manager="rpm",
        source_name=source_name,
        source_version=source_version,
    )
