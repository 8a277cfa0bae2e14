"""OSV records (https://ossf.github.io/osv-schema/) parsed into the advisories vmguard keeps.

A record is hostile input: every field is type-checked and bounded here, at the boundary,
and a record that does not fit raises ``RecordRejected`` with the reason (the importer
records it and goes on). Only what matching and reporting need is kept: id, dates,
aliases, summary, severity, references, and per affected package its ecosystem, name,
ECOSYSTEM and SEMVER ranges (npm, Go and crates.io advisories use SEMVER) and listed
versions. Never evaluates or fetches anything a record names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vmguard.findings import Severity
from vmguard.guest.facts import guest_text
from vmguard.vulns.cvss import base_score, severity_of_score
from vmguard.vulns.errors import VulnsError

MAX_ID_CHARS = 256
MAX_NAME_CHARS = 512
MAX_VERSION_CHARS = 512
MAX_AFFECTED = 20_000
MAX_EVENTS = 2_000
MAX_VERSIONS = 50_000
MAX_ALIASES = 500
MAX_REFERENCES = 50
MAX_SUMMARY_CHARS = 500

EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")

_LABELS = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "important": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "low": Severity.LOW,
    "negligible": Severity.LOW,
    "unimportant": Severity.LOW,
}
"""Textual ratings OSV sources use (Ubuntu priority, Debian urgency, Red Hat impact)."""


class RecordRejected(VulnsError):
    """One OSV record that is not usable; the import skips it and reports why."""


@dataclass(frozen=True, slots=True)
class Affected:
    """One package an advisory affects, in one ecosystem."""

    ecosystem: str
    name: str
    ranges: tuple[tuple[tuple[str, str], ...], ...]
    """ECOSYSTEM and SEMVER ranges, each a tuple of (event kind, version) in record order."""
    versions: tuple[str, ...]
    """Versions listed as affected (exact matches)."""


@dataclass(frozen=True, slots=True)
class Advisory:
    """An OSV record reduced to what vmguard keeps."""

    id: str
    modified: str
    published: str
    summary: str
    aliases: tuple[str, ...]
    """Other ids of the same issue (CVE ids among them)."""
    severity: Severity | None
    """From the highest CVSS score, else a textual rating; None when the record has none."""
    score: float | None
    vector: str | None
    """The CVSS vector the score came from."""
    references: tuple[str, ...]
    affected: tuple[Affected, ...]
    withdrawn: bool


def _text(value: object, limit: int, what: str, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise RecordRejected(f"{what} is not a non-empty string")
    if len(value) > limit:
        raise RecordRejected(f"{what} is longer than {limit} characters")
    return guest_text(value, max_chars=limit)


def _list(value: object, limit: int, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordRejected(f"{what} is not a list")
    if len(value) > limit:
        raise RecordRejected(f"{what} has more than {limit} entries")
    return value


def _dict(value: object, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordRejected(f"{what} is not an object")
    return value


def _range(raw: object) -> tuple[tuple[str, str], ...] | None:
    entry = _dict(raw, "range")
    if entry.get("type") not in ("ECOSYSTEM", "SEMVER"):
        return None  # GIT ranges name commits, not released versions
    events: list[tuple[str, str]] = []
    for event in _list(entry.get("events"), MAX_EVENTS, "range events"):
        fields = _dict(event, "event")
        kinds = [k for k in EVENT_KINDS if k in fields]
        if len(kinds) != 1:
            raise RecordRejected("an event must have exactly one of " + ", ".join(EVENT_KINDS))
        events.append((kinds[0], _text(fields[kinds[0]], MAX_VERSION_CHARS, "event version")))
    if not any(kind == "introduced" for kind, _ in events):
        raise RecordRejected("a version range has no introduced event")
    return tuple(events)


def _affected(raw: object) -> Affected:
    entry = _dict(raw, "affected entry")
    package = _dict(entry.get("package"), "affected package")
    ranges = tuple(r for r in map(_range, _list(entry.get("ranges"), MAX_EVENTS, "ranges")) if r)
    versions = tuple(
        _text(v, MAX_VERSION_CHARS, "affected version")
        for v in _list(entry.get("versions"), MAX_VERSIONS, "versions")
    )
    return Affected(
        ecosystem=_text(package.get("ecosystem"), MAX_NAME_CHARS, "ecosystem", required=True),
        name=_text(package.get("name"), MAX_NAME_CHARS, "package name", required=True),
        ranges=ranges,
        versions=versions,
    )


def _ratings(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(type, score) of the record's and its affected entries' severity lists."""
    found: list[tuple[str, str]] = []
    sources = [record, *(a for a in _list(record.get("affected"), MAX_AFFECTED, "affected"))]
    for source in sources:
        if not isinstance(source, dict):
            continue
        for item in _list(source.get("severity"), 50, "severity"):
            rating = _dict(item, "severity entry")
            kind, score = rating.get("type"), rating.get("score")
            if isinstance(kind, str) and isinstance(score, str) and len(score) <= 512:
                found.append((kind, score))
        for key in ("database_specific", "ecosystem_specific"):
            extra = source.get(key)
            if isinstance(extra, dict):
                for field in ("severity", "urgency", "priority"):
                    label = extra.get(field)
                    if isinstance(label, str) and len(label) <= 64:
                        found.append(("label", label))
    return found


def _severity(record: dict[str, Any]) -> tuple[Severity | None, float | None, str | None]:
    best: tuple[float, str, bool] | None = None
    label: Severity | None = None
    for kind, score in _ratings(record):
        if kind in ("CVSS_V2", "CVSS_V3"):
            value = base_score(score)
            if value is not None and (best is None or value > best[0]):
                best = (value, score, kind == "CVSS_V2")
        else:
            rated = _LABELS.get(score.strip().lower())
            if rated is not None and (label is None or rated.rank > label.rank):
                label = rated
    if best is not None:
        return severity_of_score(best[0], v2=best[2]), best[0], best[1]
    return label, None, None


def parse_advisory(record: object) -> Advisory:
    """An Advisory from one decoded OSV JSON object; raises RecordRejected."""
    data = _dict(record, "record")
    references = []
    for ref in _list(data.get("references"), 10_000, "references")[:MAX_REFERENCES]:
        url = _dict(ref, "reference").get("url")
        if isinstance(url, str) and len(url) <= 2048:
            references.append(guest_text(url, max_chars=2048))
    severity, score, vector = _severity(data)
    return Advisory(
        id=_text(data.get("id"), MAX_ID_CHARS, "id", required=True),
        modified=_text(data.get("modified"), 64, "modified", required=True),
        published=_text(data.get("published"), 64, "published"),
        summary=guest_text(data["summary"], max_chars=MAX_SUMMARY_CHARS)
        if isinstance(data.get("summary"), str)
        else "",
        aliases=tuple(
            _text(a, MAX_ID_CHARS, "alias")
            for a in _list(data.get("aliases"), MAX_ALIASES, "aliases")
        ),
        severity=severity,
        score=score,
        vector=vector,
        references=tuple(references),
        affected=tuple(_affected(a) for a in _list(data.get("affected"), MAX_AFFECTED, "affected")),
        withdrawn=bool(data.get("withdrawn")),
    )
