"""The file list of an rpm header blob: names, digests and flags of each packaged file.

Extends ``guest.rpmheader`` (which reads only the package identity) with BASENAMES,
DIRNAMES, DIRINDEXES, FILEDIGESTS, FILEDIGESTALGO and FILEFLAGS, and the pre-4.x
OLDFILENAMES. Every count and offset is checked against the blob before use, as there;
this module parses bytes it is given and must never open a file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vmguard.guest.errors import GuestFactsError
from vmguard.guest.facts import guest_text
from vmguard.guest.rpmheader import MAX_DATA_BYTES, MAX_INDEX_ENTRIES, TAG_NAME

TAG_OLDFILENAMES = 1027
TAG_FILEDIGESTS = 1035
TAG_FILEFLAGS = 1037
TAG_DIRINDEXES = 1116
TAG_BASENAMES = 1117
TAG_DIRNAMES = 1118
TAG_FILEDIGESTALGO = 5011
_TAGS = {
    TAG_NAME,
    TAG_OLDFILENAMES,
    TAG_FILEDIGESTS,
    TAG_FILEFLAGS,
    TAG_DIRINDEXES,
    TAG_BASENAMES,
    TAG_DIRNAMES,
    TAG_FILEDIGESTALGO,
}
_INT32, _STRING, _STRING_ARRAY, _I18NSTRING = 4, 6, 8, 9
_ENTRY = struct.Struct(">iIiI")
_MAX_STRING = 4096
MAX_FILES = 1_000_000

RPMFILE_CONFIG = 1 << 0
RPMFILE_GHOST = 1 << 6
DIGEST_ALGORITHMS = {1: "md5", 2: "sha1", 8: "sha256", 9: "sha384", 10: "sha512", 11: "sha224"}
"""rpm's PGPHASHALGO numbers, as hashlib names (MD5 when the tag is absent)."""


@dataclass(frozen=True, slots=True)
class RpmFile:
    """One file an rpm package installed."""

    path: str
    digest: str
    """Hex digest, empty for directories, links and other non-regular files."""
    flags: int


@dataclass(frozen=True, slots=True)
class RpmFileList:
    """A package's name, digest algorithm and files."""

    name: str
    algorithm: str
    files: tuple[RpmFile, ...]


def _strings(data: bytes, offset: int, count: int, tag: int) -> list[str]:
    values = []
    for _ in range(count):
        end = data.find(b"\x00", offset, offset + _MAX_STRING + 1)
        if end < 0:
            raise GuestFactsError("", f"rpm header tag {tag}: unterminated string")
        values.append(guest_text(data[offset:end]))
        offset = end + 1
    return values


def _integers(data: bytes, offset: int, count: int, tag: int) -> list[int]:
    if offset % 4 or offset + 4 * count > len(data):
        raise GuestFactsError("", f"rpm header tag {tag}: integer array out of bounds")
    return list(struct.unpack_from(f">{count}I", data, offset))


def _entries(blob: bytes) -> dict[int, list[str] | list[int]]:
    if len(blob) < 8:
        raise GuestFactsError("", "rpm header shorter than 8 bytes")
    index_count, data_length = struct.unpack_from(">II", blob, 0)
    if index_count == 0 or index_count > MAX_INDEX_ENTRIES or data_length > MAX_DATA_BYTES:
        raise GuestFactsError("", "rpm header counts out of bounds")
    data_start = 8 + index_count * _ENTRY.size
    if len(blob) < data_start + data_length:
        raise GuestFactsError("", "rpm header truncated")
    data = blob[data_start : data_start + data_length]
    values: dict[int, list[str] | list[int]] = {}
    for index in range(index_count):
        tag, kind, offset, count = _ENTRY.unpack_from(blob, 8 + index * _ENTRY.size)
        if tag not in _TAGS or tag in values:
            continue
        if offset < 0 or offset >= data_length or count == 0 or count > MAX_FILES:
            raise GuestFactsError("", f"rpm header tag {tag}: offset or count out of bounds")
        if kind in (_STRING, _STRING_ARRAY, _I18NSTRING):
            values[tag] = _strings(data, offset, 1 if kind == _STRING else count, tag)
        elif kind == _INT32:
            values[tag] = _integers(data, offset, count, tag)
        else:
            raise GuestFactsError("", f"rpm header tag {tag}: unexpected type {kind}")
    return values


def _text_list(values: dict[int, list[str] | list[int]], tag: int) -> list[str]:
    found = values.get(tag, [])
    return [v for v in found if isinstance(v, str)]


def _int_list(values: dict[int, list[str] | list[int]], tag: int) -> list[int]:
    found = values.get(tag, [])
    return [v for v in found if isinstance(v, int)]


def file_list(blob: bytes) -> RpmFileList:
    """Name, digest algorithm and files of a header blob; ``GuestFactsError`` if malformed."""
    values = _entries(blob)
    names = _text_list(values, TAG_NAME)
    if not names or not names[0]:
        raise GuestFactsError("", "rpm header without NAME")
    basenames = _text_list(values, TAG_BASENAMES)
    if basenames:
        dirnames = _text_list(values, TAG_DIRNAMES)
        indexes = _int_list(values, TAG_DIRINDEXES)
        if len(indexes) != len(basenames) or any(i >= len(dirnames) for i in indexes):
            raise GuestFactsError("", "rpm header DIRINDEXES disagree with DIRNAMES/BASENAMES")
        paths = [dirnames[i] + b for i, b in zip(indexes, basenames, strict=True)]
    else:
        paths = _text_list(values, TAG_OLDFILENAMES)
    digests = _text_list(values, TAG_FILEDIGESTS)
    flags = _int_list(values, TAG_FILEFLAGS)
    if paths and (len(digests) != len(paths) or (flags and len(flags) != len(paths))):
        raise GuestFactsError("", "rpm header file tags have different lengths")
    algorithm_ids = _int_list(values, TAG_FILEDIGESTALGO)
    algorithm_id = algorithm_ids[0] if algorithm_ids else 1
    algorithm = DIGEST_ALGORITHMS.get(algorithm_id)
    if algorithm is None:
        raise GuestFactsError("", f"rpm file digest algorithm {algorithm_id} is unknown")
    files = tuple(
        RpmFile(path, digest.lower(), flags[n] if flags else 0)
        for n, (path, digest) in enumerate(zip(paths, digests, strict=True))
    )
    return RpmFileList(names[0], algorithm, files)
