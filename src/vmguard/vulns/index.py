"""The local advisory index: an SQLite file of imported OSV advisories.

Its schema has a version (SQLite's ``user_version``) and a list of migrations applied in
order when the index is opened for writing; an index made by a newer vmguard is refused
rather than guessed at. Scanning opens the file read-only (SQLite ``mode=ro``), so a scan
never changes the index. Importing is incremental and idempotent: a record whose content
is unchanged is left alone, a changed one replaces the old copy, and a copy older (by
``modified``) than the one held never replaces it. Never touches the network.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from vmguard.vulns.ecosystems import Release, advisory_name, parse_ecosystem
from vmguard.vulns.errors import AdvisoryIndexError, IndexMissing
from vmguard.vulns.osv import Advisory
from vmguard.vulns.schema import SCHEMA_VERSION, migrate

_CHUNK = 900
"""Parameters per IN (...) query, under SQLite's default limit."""


@dataclass(frozen=True, slots=True)
class StoredAdvisory:
    """An advisory as the index returns it for reporting."""

    id: str
    modified: str
    summary: str
    aliases: tuple[str, ...]
    severity: str | None
    score: float | None
    vector: str | None
    references: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AffectedRow:
    """One (advisory, package) entry of a release."""

    advisory_id: str
    package: str
    ranges: tuple[tuple[tuple[str, str], ...], ...]
    versions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ImportCounts:
    """What one import did to the index."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    older: int = 0
    """Records older than the copy already held (kept the held one)."""
    withdrawn: int = 0
    """Records marked withdrawn: removed from the index, or not added."""


@dataclass(frozen=True, slots=True)
class IndexStatus:
    """What ``vmguard db status`` reports."""

    path: str
    schema_version: int
    advisories: int
    releases: tuple[tuple[str, int], ...]
    """(release, advisory count), e.g. ("Debian:12", 4123)."""
    last_import: str | None
    newest_modified: str | None
    imports: int


def _with_marks(sql: str, count: int) -> str:
    """``sql`` with ``{marks}`` replaced by ``count`` placeholders (never by data)."""
    return sql.replace("{marks}", ",".join("?" * count))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _modified_key(text: str) -> str:
    """A sortable form of an RFC 3339 timestamp (falls back to the text itself)."""
    try:
        return datetime.fromisoformat(text).astimezone(UTC).isoformat()
    except ValueError:
        return text


class AdvisoryIndex:
    """An open advisory index; use ``open_index`` and close it (or use ``with``)."""

    def __init__(self, connection: sqlite3.Connection, path: Path, *, writable: bool) -> None:
        self._db = connection
        self.path = path
        self.writable = writable

    def __enter__(self) -> AdvisoryIndex:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def store(self, records: Iterable[tuple[Advisory, str]]) -> ImportCounts:
        """Add or replace advisories (each with its content digest) in one transaction."""
        if not self.writable:
            raise AdvisoryIndexError(f"{self.path}: opened read-only")
        held = {
            row[0]: (row[1], row[2])
            for row in self._db.execute("SELECT id, digest, modified FROM advisories")
        }
        added = updated = unchanged = older = withdrawn = 0
        now = _now()
        try:
            with self._db:
                for advisory, digest in records:
                    current = held.get(advisory.id)
                    if current is not None and current[0] == digest:
                        unchanged += 1
                        continue
                    if current is not None and _modified_key(current[1]) > _modified_key(
                        advisory.modified
                    ):
                        older += 1
                        continue
                    if current is not None:
                        self._db.execute("DELETE FROM advisories WHERE id = ?", (advisory.id,))
                    if advisory.withdrawn:
                        withdrawn += 1
                        held.pop(advisory.id, None)
                        continue
                    self._insert(advisory, digest, now)
                    held[advisory.id] = (digest, advisory.modified)
                    if current is None:
                        added += 1
                    else:
                        updated += 1
        except sqlite3.Error as err:
            raise AdvisoryIndexError(f"{self.path}: cannot write: {err}") from err
        return ImportCounts(added, updated, unchanged, older, withdrawn)

    def _insert(self, advisory: Advisory, digest: str, now: str) -> None:
        self._db.execute(
            "INSERT INTO advisories VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                advisory.id,
                advisory.modified,
                advisory.published,
                advisory.summary,
                json.dumps(advisory.aliases),
                advisory.severity.value if advisory.severity else None,
                advisory.score,
                advisory.vector,
                json.dumps(advisory.references),
                digest,
                now,
            ),
        )
        rows = []
        for affected in advisory.affected:
            release = parse_ecosystem(affected.ecosystem)
            rows.append(
                (
                    advisory.id,
                    affected.ecosystem,
                    release.distribution,
                    release.release,
                    advisory_name(release.distribution, affected.name),
                    json.dumps(affected.ranges),
                    json.dumps(affected.versions),
                )
            )
        self._db.executemany("INSERT INTO affected VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def record_import(self, source: str, sha256: str, counts: ImportCounts, skipped: int) -> None:
        """Remember one imported source for ``status``."""
        with self._db:
            self._db.execute(
                "INSERT INTO imports (source, sha256, finished_at, added, updated, unchanged,"
                " older, skipped) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    source,
                    sha256,
                    _now(),
                    counts.added,
                    counts.updated,
                    counts.unchanged,
                    counts.older,
                    skipped,
                ),
            )

    def affected_rows(self, release: Release, names: Iterable[str]) -> Iterator[AffectedRow]:
        """Entries of ``release`` (and of release-less ecosystem entries) for these names."""
        wanted = sorted(set(names))
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            query = _with_marks(
                "SELECT advisory_id, package, ranges, versions FROM affected "
                "WHERE distribution = ? AND release IN (?, '') AND package IN ({marks})",
                len(chunk),
            )
            for advisory_id, package, ranges, versions in self._db.execute(
                query, (release.distribution, release.release, *chunk)
            ):
                yield AffectedRow(
                    advisory_id,
                    package,
                    tuple(tuple((k, v) for k, v in r) for r in json.loads(ranges)),
                    tuple(json.loads(versions)),
                )

    def advisories(self, ids: Iterable[str]) -> dict[str, StoredAdvisory]:
        """The stored advisories with these ids."""
        wanted = sorted(set(ids))
        found: dict[str, StoredAdvisory] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            query = _with_marks(
                "SELECT id, modified, summary, aliases, severity, score, vector, refs "
                "FROM advisories WHERE id IN ({marks})",
                len(chunk),
            )
            for row in self._db.execute(
                query,
                chunk,
            ):
                found[row[0]] = StoredAdvisory(
                    row[0],
                    row[1],
                    row[2],
                    tuple(json.loads(row[3])),
                    row[4],
                    row[5],
                    row[6],
                    tuple(json.loads(row[7])),
                )
        return found

    def release_count(self, release: Release) -> int:
        """How many affected entries the index holds for a release."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM affected WHERE distribution = ? AND release IN (?, '')",
            (release.distribution, release.release),
        ).fetchone()
        return int(row[0])

    def distributions(self) -> tuple[str, ...]:
        """The ecosystem base names (``Debian``, ``PyPI``...) the index holds entries for."""
        rows = self._db.execute("SELECT DISTINCT distribution FROM affected ORDER BY 1")
        return tuple(str(row[0]) for row in rows)

    def status(self) -> IndexStatus:
        """Counts per release, import history and freshness."""
        db = self._db
        releases = tuple(
            (str(Release(d, r)), n)
            for d, r, n in db.execute(
                "SELECT distribution, release, COUNT(DISTINCT advisory_id) FROM affected "
                "GROUP BY distribution, release ORDER BY distribution, release"
            )
        )
        total = db.execute("SELECT COUNT(*) FROM advisories").fetchone()[0]
        newest = db.execute("SELECT MAX(modified) FROM advisories").fetchone()[0]
        last, imports = db.execute("SELECT MAX(finished_at), COUNT(*) FROM imports").fetchone()
        return IndexStatus(str(self.path), SCHEMA_VERSION, total, releases, last, newest, imports)


def open_index(path: Path, *, writable: bool = False) -> AdvisoryIndex:
    """Open the index at ``path``: read-only for scans, created and migrated for imports."""
    try:
        if writable:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path)
            db.execute("PRAGMA foreign_keys = ON")
            migrate(db, path)
        else:
            if not path.is_file():
                raise IndexMissing(
                    f"no advisory index at {path}: import advisories first (vmguard db import)"
                )
            uri = f"file:{quote(str(path.resolve()))}?mode=ro"
            db = sqlite3.connect(uri, uri=True)
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                db.close()
                raise AdvisoryIndexError(
                    f"{path}: index schema {version}, this vmguard reads {SCHEMA_VERSION}"
                    " (run vmguard db import to upgrade it)"
                )
    except sqlite3.Error as err:
        raise AdvisoryIndexError(f"{path}: not a usable advisory index: {err}") from err
    return AdvisoryIndex(db, path, writable=writable)
