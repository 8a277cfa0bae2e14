"""``vmguard db update``: fetch OSV's per-ecosystem archives and import them, verified.

For each ecosystem the archive ``<source>/<Ecosystem>/all.zip`` is fetched (conditionally
and resumably, see ``download``) into ``osv-archives/<Ecosystem>/`` beside the index, then
verified before anything uses it: a readable zip whose every member's CRC checks, whose
declared sizes stay within the import caps (a zip bomb is refused without being
expanded), and whose every member is JSON. Only a verified archive replaces the kept copy
(``os.replace``) and is imported, in one transaction, so a failed update leaves both the
kept copy and the index as they were. Runs only when asked; scanning never calls it.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from vmguard.text import shown_name
from vmguard.vulns.database import SourceImport, import_advisories
from vmguard.vulns.download import (
    DownloadError,
    FetchLimits,
    fetch_archive,
    load_validators,
    save_validators,
)
from vmguard.vulns.ecosystems import APP_ECOSYSTEMS, DISTRIBUTIONS
from vmguard.vulns.index import open_index
from vmguard.vulns.osv_import import DEFAULT_IMPORT_LIMITS, ImportLimits

DEFAULT_SOURCE = "https://osv-vulnerabilities.storage.googleapis.com"
ARCHIVE_ECOSYSTEMS = (*DISTRIBUTIONS, *(e.name for e in APP_ECOSYSTEMS.values()))
"""The OSV ecosystems whose archives vmguard knows how to match."""
MAX_RATIO = 200
"""Largest expansion ratio of one archive member (JSON deflates about 5 to 20-fold)."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")

UpdateProgress = Callable[[str, int, int], None]
"""(ecosystem, bytes received, bytes expected) -> None."""


@dataclass(frozen=True, slots=True)
class EcosystemUpdate:
    """What updating one ecosystem did."""

    ecosystem: str
    url: str
    modified: bool
    """False when the server said the kept archive is current (nothing imported)."""
    resumed_from: int
    size: int
    imported: SourceImport | None


def verify_archive(path: Path, limits: ImportLimits = DEFAULT_IMPORT_LIMITS) -> int:
    """Check a downloaded archive before it is used; the count of JSON members.

    Raises ``DownloadError`` for anything that is not a complete, intact OSV archive.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise DownloadError(f"not a readable zip archive: {err}") from err
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_members:
            raise DownloadError(f"{len(members)} members, more than {limits.max_members}")
        if sum(m.file_size for m in members) > limits.max_total_bytes:
            raise DownloadError(f"expands past {limits.max_total_bytes} bytes: refused")
        count = 0
        for member in members:
            if member.is_dir():
                continue
            _verify_member(archive, member, limits)
            count += 1
    if count == 0:
        raise DownloadError("the archive holds no advisories")
    return count


def _verify_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: ImportLimits) -> None:
    name = shown_name(member.filename)
    if member.file_size > limits.max_record_bytes:
        raise DownloadError(f"member {name} is larger than {limits.max_record_bytes} bytes")
    compressed = max(member.compress_size, 1)
    if member.file_size > MAX_RATIO * compressed + 4096:
        raise DownloadError(f"member {name} expands {member.file_size // compressed}-fold: refused")
    try:
        with archive.open(member) as handle:
            data = handle.read(limits.max_record_bytes + 1)  # reading to the end checks the CRC
    except (
        zipfile.BadZipFile,
        zlib.error,
        NotImplementedError,
        EOFError,
        OSError,
        ValueError,
        RuntimeError,
    ) as err:
        raise DownloadError(f"member {name} is damaged: {err}") from err
    if len(data) > limits.max_record_bytes:
        raise DownloadError(f"member {name} expands past its declared size")
    try:
        json.loads(data)
    except (ValueError, RecursionError) as err:
        raise DownloadError(f"member {name} is not JSON") from err


def archive_url(source: str, ecosystem: str) -> str:
    """``<source>/<Ecosystem>/all.zip`` with the ecosystem name URL-quoted."""
    return f"{source.rstrip('/')}/{quote(ecosystem)}/all.zip"


def archive_dir(index_path: Path, ecosystem: str) -> Path:
    """Where an ecosystem's archive, its part and its validators are kept."""
    return index_path.parent / "osv-archives" / _UNSAFE.sub("_", ecosystem)


def update_ecosystem(
    index_path: Path,
    ecosystem: str,
    source: str = DEFAULT_SOURCE,
    *,
    fetch_limits: FetchLimits | None = None,
    import_limits: ImportLimits = DEFAULT_IMPORT_LIMITS,
    progress: UpdateProgress | None = None,
) -> EcosystemUpdate:
    """Fetch, verify and import one ecosystem's archive (see the module docstring)."""
    url = archive_url(source, ecosystem)
    folder = archive_dir(index_path, ecosystem)
    folder.mkdir(parents=True, exist_ok=True)
    kept, part = folder / "all.zip", folder / "all.zip.part"
    validators_file = folder / "validators.json"
    kept_validators = load_validators(validators_file)

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(ecosystem, done, total)

    fetched = fetch_archive(
        url,
        part,
        kept_validators,
        have_copy=kept.is_file(),
        limits=fetch_limits,
        progress=report,
    )
    if not fetched.modified:
        return EcosystemUpdate(ecosystem, url, False, 0, kept.stat().st_size, None)
    assert fetched.part is not None
    try:
        verify_archive(fetched.part, import_limits)
    except DownloadError as err:
        fetched.part.unlink(missing_ok=True)  # a refused transfer is never resumed
        raise DownloadError(f"{url}: {err}") from err
    os.replace(fetched.part, kept)
    with open_index(index_path, writable=True) as index:
        summary = import_advisories(index, [kept], import_limits)
    save_validators(validators_file, fetched.validators)
    return EcosystemUpdate(
        ecosystem, url, True, fetched.resumed_from, kept.stat().st_size, summary.sources[0]
    )


def needed_ecosystems(held: Iterable[str]) -> list[str]:
    """The archive ecosystems among names held by an index or named by guests.

    ``Ubuntu:Pro:...`` and other release-qualified names reduce to their archive.
    """
    found = {name.split(":", 1)[0] for name in held}
    return [e for e in ARCHIVE_ECOSYSTEMS if e in found]
