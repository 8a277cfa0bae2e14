"""The SQLite advisory index: incremental, idempotent imports; read-only scans; schema."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from vmguard.vulns import import_advisories, open_index
from vmguard.vulns.ecosystems import Release
from vmguard.vulns.errors import AdvisoryIndexError, IndexMissing
from vmguard.vulns.schema import SCHEMA_VERSION

from .osvdata import alpine_record, debian_record, write_all_zip


def _import(db: Path, archive: Path) -> tuple[int, int, int, int, int]:
    with open_index(db, writable=True) as index:
        summary = import_advisories(index, [archive])
    return tuple(summary.total(f) for f in ("added", "updated", "unchanged", "older", "withdrawn"))  # type: ignore[return-value]


def test_reimport_is_idempotent_and_incremental(tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite"
    first = [
        debian_record("DSA-1-1", "glibc", "2.36-9+deb12u4"),
        alpine_record("ALPINE-1", "musl", "1.2.5-r1"),
    ]
    assert _import(db, write_all_zip(tmp_path / "a.zip", first)) == (2, 0, 0, 0, 0)
    assert _import(db, write_all_zip(tmp_path / "a.zip", first)) == (0, 0, 2, 0, 0)
    # A newer copy of DSA-1-1 moves the fix; an older copy of ALPINE-1 is not taken.
    newer = debian_record("DSA-1-1", "glibc", "2.36-9+deb12u7", modified="2024-06-01T00:00:00Z")
    older = alpine_record("ALPINE-1", "musl", "1.2.4-r0")
    older["modified"] = "2023-01-01T00:00:00Z"
    assert _import(db, write_all_zip(tmp_path / "b.zip", [newer, older])) == (0, 1, 0, 1, 0)
    with open_index(db) as index:
        rows = list(index.affected_rows(Release("Debian", "12"), ["glibc"]))
        assert [r.ranges for r in rows] == [((("introduced", "0"), ("fixed", "2.36-9+deb12u7")),)]
        rows = list(index.affected_rows(Release("Alpine", "3.20"), ["musl"]))
        assert rows[0].ranges[0][1] == ("fixed", "1.2.5-r1")
        status = index.status()
    assert status.advisories == 2
    assert dict(status.releases) == {"Alpine:3.20": 1, "Debian:12": 1}
    assert status.imports == 3 and status.last_import is not None
    assert status.newest_modified == "2024-06-01T00:00:00Z"
    # Withdrawn: the held copy goes away.
    withdrawn = dict(newer, modified="2024-07-01T00:00:00Z", withdrawn="2024-07-01T00:00:00Z")
    assert _import(db, write_all_zip(tmp_path / "c.zip", [withdrawn])) == (0, 0, 0, 0, 1)
    with open_index(db) as index:
        assert list(index.affected_rows(Release("Debian", "12"), ["glibc"])) == []


def test_scans_never_change_the_index(tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite"
    _import(db, write_all_zip(tmp_path / "a.zip", [debian_record("DSA-1-1", "glibc", "1")]))
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    with open_index(db) as index:
        assert index.release_count(Release("Debian", "12")) == 1
        with pytest.raises(AdvisoryIndexError, match="read-only"):
            index.store([])
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip", "v.sqlite"]


def test_schema_version_is_checked(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing):
        open_index(tmp_path / "none.sqlite")
    future = tmp_path / "future.sqlite"
    with sqlite3.connect(future) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(AdvisoryIndexError, match="newer"):
        open_index(future, writable=True)
    with pytest.raises(AdvisoryIndexError, match="schema"):
        open_index(future)
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).close()
    with pytest.raises(AdvisoryIndexError, match="schema 0"):
        open_index(empty)
    open_index(empty, writable=True).close()  # migrates 0 -> current
    open_index(empty).close()
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(AdvisoryIndexError, match="not a usable"):
        open_index(junk)


def test_migration_2_restores_app_records_on_the_next_import(tmp_path: Path) -> None:
    record = {
        "id": "GHSA-test-1",
        "modified": "2024-05-01T10:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": "npm", "name": "lodash"},
                "ranges": [
                    {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}
                ],
            }
        ],
    }
    source = tmp_path / "npm.json"
    source.write_text(json.dumps(record))
    db = tmp_path / "vulns.sqlite"
    with open_index(db, writable=True) as index:
        import_advisories(index, [source])
    # What schema 1 stored: SEMVER ranges dropped.
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE affected SET ranges = '[]'")
        connection.execute("PRAGMA user_version = 1")
    with open_index(db, writable=True) as index:
        summary = import_advisories(index, [source])
    assert summary.total("updated") == 1
    with sqlite3.connect(db) as connection:
        (ranges,) = connection.execute("SELECT ranges FROM affected").fetchone()
    assert json.loads(ranges) == [[["introduced", "0"], ["fixed", "4.17.21"]]]
