"""How old the advisories behind a report are, said in every report that used them.

Age is the time since the index was last imported into (``db import`` or ``db update``):
what the user controls. Every report that matched packages carries an ``info`` finding
stating it (``vuln.advisory-age``), and one more (``vuln.advisories-stale``) when it is past
the allowed age; the commands also print a warning on the console. Nothing here can turn
the statement off: a report from stale data always says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from vmguard.findings import Area, Finding, Location, Rule, Severity, Threat
from vmguard.vulns.index import AdvisoryIndex

DEFAULT_MAX_AGE_DAYS = 7

ADVISORY_AGE = Rule(
    "vuln.advisory-age",
    "Age of the advisory data the report used",
    Severity.INFO,
    Threat.VULNERABLE_SOFTWARE,
    "Nothing to fix: this says how current the vulnerability findings are. Keep the index "
    "current with `vmguard db update` (or `vmguard db import` of newer OSV archives).",
    ("https://osv.dev/",),
    rationale=(
        "A vulnerability report is only as complete as its advisory data: this records how old "
        "that data was, so a clean result can be weighed."
    ),
)
STALE_ADVISORIES = Rule(
    "vuln.advisories-stale",
    "Advisory data older than allowed",
    Severity.INFO,
    Threat.VULNERABLE_SOFTWARE,
    "Run `vmguard db update` (or import newer OSV archives with `vmguard db import`): "
    "vulnerabilities published since the last import are missing from this report.",
    ("https://google.github.io/osv.dev/data/#data-dumps",),
    rationale=(
        "Advisory data older than the allowed age misses recent vulnerabilities, so an image can "
        "look clean while carrying known flaws."
    ),
)
RULES = (ADVISORY_AGE, STALE_ADVISORIES)


@dataclass(frozen=True, slots=True)
class AdvisoryAge:
    """When the index was last imported into, against the allowed age."""

    index_path: str
    last_import: datetime | None
    """None when the time is missing or unreadable (treated as stale)."""
    newest_modified: str | None
    max_days: int
    now: datetime

    @property
    def days(self) -> float | None:
        """Days since the last import (None when unknown)."""
        if self.last_import is None:
            return None
        return max((self.now - self.last_import).total_seconds(), 0) / 86400

    @property
    def stale(self) -> bool:
        """Older than allowed, or of unknown age."""
        days = self.days
        return days is None or days > self.max_days

    def describe(self) -> str:
        """One line: when the advisories were imported and how old that is."""
        days = self.days
        if self.last_import is None or days is None:
            when = "advisories of unknown age (no import time recorded)"
        else:
            stamp = self.last_import.strftime("%Y-%m-%dT%H:%M:%SZ")
            when = f"advisories last imported {stamp} ({days:.1f} days ago)"
        newest = (
            f"; newest advisory modified {self.newest_modified}" if self.newest_modified else ""
        )
        return f"{when}{newest}"

    def warning(self) -> str | None:
        """The console warning when stale, else None."""
        if not self.stale:
            return None
        return (
            f"{self.describe()}: older than the allowed {self.max_days} days (--max-db-age); "
            "run vmguard db update"
        )


def _parse(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        parsed = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def advisory_age(
    index: AdvisoryIndex, max_days: int = DEFAULT_MAX_AGE_DAYS, now: datetime | None = None
) -> AdvisoryAge:
    """The age of the advisories in ``index``."""
    status = index.status()
    return AdvisoryAge(
        str(index.path),
        _parse(status.last_import),
        status.newest_modified,
        max_days,
        now or datetime.now(UTC),
    )


def _finding(rule: Rule, age: AdvisoryAge, title: str, evidence: str) -> Finding:
    return Finding(
        rule_id=rule.rule_id,
        title=title,
        severity=rule.severity,
        threat=rule.threat,
        location=Location(age.index_path, Area.HOST),
        evidence=evidence,
        remediation=rule.remediation,
        references=rule.references,
        subject="advisory-index",
    )


def age_findings(age: AdvisoryAge) -> list[Finding]:
    """The age statement, and the staleness finding when past the allowed age."""
    found = [_finding(ADVISORY_AGE, age, f"Advisory data: {age.describe()}", age.describe())]
    if age.stale:
        evidence = f"{age.describe()}; allowed: {age.max_days} days"
        found.append(_finding(STALE_ADVISORIES, age, STALE_ADVISORIES.title, evidence))
    return found
