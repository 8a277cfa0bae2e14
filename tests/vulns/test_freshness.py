"""The age of the advisories: stated in every report that used them, flagged when stale."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vmguard.findings import Report, Severity, Target
from vmguard.inventory import Inventory
from vmguard.vulns import import_advisories, open_index
from vmguard.vulns.findings import with_vulnerabilities
from vmguard.vulns.freshness import advisory_age, age_findings

from .osvdata import debian_record, write_all_zip


def _index(tmp_path: Path) -> Path:
    db = tmp_path / "vulns.sqlite"
    archive = write_all_zip(tmp_path / "all.zip", [debian_record("DSA-1-1", "glibc", "2.36-9")])
    with open_index(db, writable=True) as index:
        import_advisories(index, [archive])
    return db


def _age_back(db: Path, days: int) -> None:
    stamp = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE imports SET finished_at = ?", (stamp,))


def test_fresh_index_is_stated_not_flagged(tmp_path: Path) -> None:
    db = _index(tmp_path)
    with open_index(db) as index:
        age = advisory_age(index)
    assert not age.stale and age.warning() is None
    findings = age_findings(age)
    assert [f.rule_id for f in findings] == ["vuln.advisory-age"]
    assert findings[0].severity is Severity.INFO
    assert "advisories last imported" in findings[0].evidence
    assert "newest advisory modified 2024-05-01T10:00:00Z" in findings[0].evidence


def test_old_index_is_flagged_and_the_limit_is_configurable(tmp_path: Path) -> None:
    db = _index(tmp_path)
    _age_back(db, 10)
    with open_index(db) as index:
        default = advisory_age(index)
        relaxed = advisory_age(index, max_days=30)
    assert default.stale and "older than the allowed 7 days" in (default.warning() or "")
    assert [f.rule_id for f in age_findings(default)] == [
        "vuln.advisory-age",
        "vuln.advisories-stale",
    ]
    assert not relaxed.stale


def test_every_report_that_used_advisories_states_their_age(tmp_path: Path) -> None:
    db = _index(tmp_path)
    _age_back(db, 9)
    inventory = Inventory("raw", "", 0, (), (), (), None, (), ())
    with open_index(db) as index:
        report = with_vulnerabilities(Report(Target("image", "x.raw"), inventory), index)
    assert {f.rule_id for f in report.findings} == {"vuln.advisory-age", "vuln.advisories-stale"}


def test_unknown_age_counts_as_stale(tmp_path: Path) -> None:
    db = _index(tmp_path)
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM imports")
    with open_index(db) as index:
        age = advisory_age(index)
    assert age.stale and "unknown age" in age.describe()
