"""Reading OSV records out of what the user downloaded: all.zip archives, JSON files, and
directories of JSON files.

Archives are read member by member into memory under caps (member count, each member's
size, total uncompressed size); nothing is ever extracted and no member name is ever used
as a host path, so a hostile archive can neither write files nor exhaust memory.
Directories are walked without following symbolic links. One unreadable record is
reported as skipped and the import goes on; a file that is neither an archive nor JSON,
or an archive past its caps, stops the import with ``AdvisoryImportError``. Never modifies
an input file.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vmguard.problems import Problem, Stage
from vmguard.userfiles import UserFileError, read_user_file
from vmguard.vulns.errors import AdvisoryImportError
from vmguard.vulns.osv import Advisory, RecordRejected, parse_advisory


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """Caps on what one import reads."""

    max_members: int = 2_000_000
    """Entries in one archive (OSV's largest all.zip holds a few hundred thousand)."""
    max_record_bytes: int = 16 * 1024 * 1024
    """One JSON member or file."""
    max_total_bytes: int = 16 * 1024 * 1024 * 1024
    """Uncompressed bytes read from one archive or directory."""
    max_json_file_bytes: int = 512 * 1024 * 1024
    """A plain JSON file (which may hold a list of records)."""


DEFAULT_IMPORT_LIMITS = ImportLimits()


@dataclass(frozen=True, slots=True)
class ParsedRecord:
    """One advisory read from a source, with the digest of its content."""

    origin: str
    advisory: Advisory
    digest: str


Item = ParsedRecord | Problem
"""A record read, or one that was not imported and why (``where``: file or ``archive!member``)."""

# Everything zipfile and its decompressors raise on a malformed archive (measured by fuzzing:
# a truncated stored member raises EOFError, a "version needed" above 6.3 NotImplementedError,
# a password-protected member RuntimeError). Caught in the two places below, nowhere else.
_ZIP_FAILURES: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    ValueError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    struct.error,
    zlib.error,
    lzma.LZMAError,
)


def _reason(err: Exception) -> str:
    text = " ".join(str(err).split())[:200]
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _decode(origin: str, data: bytes) -> Iterator[Item]:
    digest = hashlib.sha256(data).hexdigest()
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as err:
        yield Problem(Stage.ADVISORIES, origin, f"not JSON: {' '.join(str(err).split())[:200]}")
        return
    records = document if isinstance(document, list) else [document]
    for index, record in enumerate(records):
        where = origin if len(records) == 1 else f"{origin}[{index}]"
        try:
            advisory = parse_advisory(record)
        except RecordRejected as err:
            yield Problem(Stage.ADVISORIES, where, str(err))
            continue
        if len(records) > 1:
            raw = json.dumps(record, sort_keys=True).encode()
            yield ParsedRecord(where, advisory, hashlib.sha256(raw).hexdigest())
        else:
            yield ParsedRecord(where, advisory, digest)


def _read_zip(path: Path, limits: ImportLimits) -> Iterator[Item]:
    try:
        archive = zipfile.ZipFile(path)
    except _ZIP_FAILURES as err:
        raise AdvisoryImportError(f"{path}: not a readable zip archive: {_reason(err)}") from err
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_members:
            raise AdvisoryImportError(
                f"{path}: {len(members)} archive members, more than {limits.max_members}"
            )
        total = 0
        for info in members:
            origin = f"{path}!{info.filename[:300]}"
            if not info.filename:
                yield Problem(Stage.ADVISORIES, origin, "member without a name")
                continue
            if info.is_dir():
                continue
            if not info.filename.lower().endswith(".json"):
                yield Problem(Stage.ADVISORIES, origin, "not a .json member")
                continue
            if info.flag_bits & 0x1:
                yield Problem(Stage.ADVISORIES, origin, "encrypted member")
                continue
            if info.file_size > limits.max_record_bytes:
                yield Problem(
                    Stage.ADVISORIES, origin, f"member larger than {limits.max_record_bytes} bytes"
                )
                continue
            try:
                with archive.open(info) as member:
                    # The header's size may lie: never read past the cap whatever it says.
                    data = member.read(limits.max_record_bytes + 1)
            except _ZIP_FAILURES as err:
                yield Problem(Stage.ADVISORIES, origin, f"unreadable member: {_reason(err)}")
                continue
            if len(data) > limits.max_record_bytes:
                yield Problem(
                    Stage.ADVISORIES, origin, f"member larger than {limits.max_record_bytes} bytes"
                )
                continue
            total += len(data)
            if total > limits.max_total_bytes:
                raise AdvisoryImportError(
                    f"{path}: more than {limits.max_total_bytes} uncompressed bytes"
                )
            yield from _decode(origin, data)


def _read_file(path: Path, limit: int) -> bytes:
    try:
        return read_user_file(path, "advisory file", limit)
    except UserFileError as err:
        raise AdvisoryImportError(err.diagnostics()) from err


def _read_directory(root: Path, limits: ImportLimits) -> Iterator[Item]:
    total = 0
    for directory, dirs, files in os.walk(root, onerror=None, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            if not name.lower().endswith(".json"):
                continue
            path = Path(directory, name)
            try:
                info = path.lstat()
            except OSError as err:
                yield Problem(Stage.ADVISORIES, str(path), f"cannot stat: {err.strerror or err}")
                continue
            if not stat.S_ISREG(info.st_mode):
                yield Problem(Stage.ADVISORIES, str(path), "not a regular file")
                continue
            if info.st_size > limits.max_record_bytes:
                yield Problem(
                    Stage.ADVISORIES, str(path), f"larger than {limits.max_record_bytes} bytes"
                )
                continue
            try:
                data = _read_file(path, limits.max_record_bytes)
            except AdvisoryImportError as err:
                yield Problem(Stage.ADVISORIES, str(path), str(err))
                continue
            total += len(data)
            if total > limits.max_total_bytes:
                raise AdvisoryImportError(f"{root}: more than {limits.max_total_bytes} bytes")
            yield from _decode(str(path), data)


def read_source(path: Path, limits: ImportLimits = DEFAULT_IMPORT_LIMITS) -> Iterator[Item]:
    """Every record of an all.zip, a JSON file (one record or a list) or a directory."""
    try:
        info = path.stat()
    except OSError as err:
        raise AdvisoryImportError(f"{path}: {err.strerror or err}") from err
    if stat.S_ISDIR(info.st_mode):
        yield from _read_directory(path, limits)
        return
    if not stat.S_ISREG(info.st_mode):
        raise AdvisoryImportError(f"{path}: not a regular file or directory")
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as err:
        raise AdvisoryImportError(f"{path}: cannot read: {err.strerror or err}") from err
    if magic in (b"PK\x03\x04", b"PK\x05\x06"):
        yield from _read_zip(path, limits)
        return
    data = _read_file(path, limits.max_json_file_bytes)
    if data.lstrip()[:1] not in (b"{", b"["):
        raise AdvisoryImportError(f"{path}: neither a zip archive nor OSV JSON")
    items = list(_decode(str(path), data))
    if len(items) == 1 and isinstance(items[0], Problem) and "not JSON" in items[0].reason:
        raise AdvisoryImportError(f"{path}: {items[0].reason}")
    yield from items


def file_digest(path: Path) -> str:
    """SHA-256 of a source file (empty for directories), to record what was imported."""
    if path.is_dir():
        return ""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
