"""The catalogue's posture, read from the results database: what ``fleet report`` renders.

Per image, its current results (worst severity, counts by severity and threat, OS, age);
across images, the secrets they share; between the two latest runs, what changed. This
module must never write to the database nor carry a marker HMAC or fingerprint.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from vmguard.findings import Finding, Severity
from vmguard.fleet.correlation import SharedSecret, shared_secrets
from vmguard.fleet.database import FleetDatabase, shown
from vmguard.fleet.results import errors_of, findings_of
from vmguard.fleet.schema import images, inventories, runs, scans
from vmguard.problems import Problem

AGE_BUCKETS = ((30, "under 30 days"), (90, "30-90 days"), (365, "90-365 days"))
OLDEST_BUCKET = "over a year"


@dataclass(frozen=True, slots=True)
class ImagePosture:
    """One image as its current results describe it."""

    path: str
    format: str | None
    os_name: str
    hostname: str
    first_seen: datetime
    last_seen: datetime
    modified_at: datetime | None
    """The image file's mtime when last read: its age."""
    latest_outcome: str | None
    """scanned, unchanged, rematched or error in the latest run (None: not in it)."""
    error: str | None
    """Why the latest run could not scan it."""
    findings: tuple[Finding, ...] = ()
    errors: tuple[Problem, ...] = ()

    @property
    def worst(self) -> Severity | None:
        """The highest severity among its findings."""
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def age_bucket(self, now: datetime) -> str:
        """How old the image file is, in coarse buckets."""
        if self.modified_at is None:
            return "unknown"
        days = (now - self.modified_at).days
        return next((label for limit, label in AGE_BUCKETS if days < limit), OLDEST_BUCKET)


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed between the previous run and the latest one."""

    previous_run: int | None
    latest_run: int | None
    new_images: tuple[str, ...] = ()
    missing_images: tuple[str, ...] = ()
    """In the previous run, not in the latest."""
    changed_images: tuple[str, ...] = ()
    """Content changed (scanned again) or re-matched against a new advisory index."""
    new_findings: tuple[tuple[str, Finding], ...] = ()
    resolved_findings: tuple[tuple[str, Finding], ...] = ()


@dataclass(frozen=True, slots=True)
class FleetPosture:
    """Everything ``fleet report`` shows."""

    generated: datetime
    database: str
    latest_run: dict[str, Any] | None
    images: tuple[ImagePosture, ...]
    shared: tuple[SharedSecret, ...]
    changes: Changes
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def reaches(self, severity: Severity) -> bool:
        """True when an image's worst finding or a shared secret is at least ``severity``."""
        ranks = [i.worst.rank for i in self.images if i.worst is not None]
        ranks += [g.severity.rank for g in self.shared]
        return bool(ranks) and max(ranks) >= severity.rank

    def by_severity(self) -> dict[str, int]:
        """Images by their worst severity (``none`` for images without findings)."""
        counts = {s.value: 0 for s in Severity} | {"none": 0}
        for image in self.images:
            counts[image.worst.value if image.worst else "none"] += 1
        return counts

    def by_threat(self) -> dict[str, tuple[int, int]]:
        """Threat class -> (images affected, findings), shared secrets included."""
        images_by: dict[str, set[str]] = {}
        findings_by: Counter[str] = Counter()
        for image in self.images:
            for f in image.findings:
                images_by.setdefault(f.threat.value, set()).add(image.path)
                findings_by[f.threat.value] += 1
        for group in self.shared:
            images_by.setdefault("guest-to-guest", set()).update(group.images)
            findings_by["guest-to-guest"] += len(group.carriers)
        return {t: (len(images_by[t]), findings_by[t]) for t in sorted(images_by)}

    def by_os(self) -> dict[str, int]:
        """Images per operating system."""
        return dict(sorted(Counter(i.os_name or "unknown" for i in self.images).items()))

    def by_age(self) -> dict[str, int]:
        """Images per age bucket of the image file."""
        order = [label for _, label in AGE_BUCKETS] + [OLDEST_BUCKET, "unknown"]
        counts = Counter(i.age_bucket(self.now) for i in self.images)
        return {label: counts[label] for label in order if counts[label]}


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _key(f: Finding) -> tuple[object, ...]:
    return (f.rule_id, f.location.path, f.location.line, f.evidence)


def load_posture(db: FleetDatabase) -> FleetPosture:
    """Read the posture of every known image from ``db``."""
    with db.engine.connect() as conn:
        run_rows = conn.execute(select(runs).order_by(runs.c.id.desc()).limit(2)).all()
        latest = run_rows[0] if run_rows else None
        previous = run_rows[1] if len(run_rows) > 1 else None
        outcome: dict[int, Any] = {}
        prev_result: dict[int, int | None] = {}
        if latest is not None:
            for row in conn.execute(select(scans).where(scans.c.run_id == latest.id)):
                outcome[row.image_id] = row
        if previous is not None:
            for row in conn.execute(select(scans).where(scans.c.run_id == previous.id)):
                prev_result[row.image_id] = row.result_scan_id
        image_rows = conn.execute(
            select(images, inventories.c.os_name, inventories.c.hostname)
            .outerjoin(inventories, inventories.c.scan_id == images.c.current_scan_id)
            .order_by(images.c.path)
        ).all()
        current = [r.current_scan_id for r in image_rows if r.current_scan_id]
        latest_ids = [r.result_scan_id for r in outcome.values() if r.result_scan_id]
        older_ids = [i for i in prev_result.values() if i]
        found = findings_of(conn, set(current) | set(latest_ids) | set(older_ids))
        errs = errors_of(conn, current)
        postures = []
        for r in image_rows:
            scan = outcome.get(r.id)
            postures.append(
                ImagePosture(
                    path=r.path,
                    format=r.format,
                    os_name=r.os_name or "",
                    hostname=r.hostname or "",
                    first_seen=_aware(r.first_seen) or datetime.now(UTC),
                    last_seen=_aware(r.last_seen) or datetime.now(UTC),
                    modified_at=_aware(r.modified_at),
                    latest_outcome=scan.outcome if scan is not None else None,
                    error=scan.error if scan is not None else None,
                    findings=tuple(found.get(r.current_scan_id, ())),
                    errors=tuple(errs.get(r.current_scan_id, ())),
                )
            )
        shared = tuple(shared_secrets(conn))
        changes = Changes(previous.id if previous else None, latest.id if latest else None)
        if latest is not None and previous is not None:
            changes = _changes(image_rows, outcome, prev_result, found, latest.id, previous.id)
    return FleetPosture(
        generated=datetime.now(UTC),
        database=shown(db.url),
        latest_run=dict(latest._mapping) if latest is not None else None,
        images=tuple(postures),
        shared=shared,
        changes=changes,
    )


def _changes(  # noqa: PLR0917 - one private helper of load_posture
    image_rows: Sequence[Any],
    outcome: dict[int, Any],
    prev_result: dict[int, int | None],
    found: dict[int, list[Finding]],
    latest_id: int,
    previous_id: int,
) -> Changes:
    paths = {r.id: r.path for r in image_rows}
    new_images = sorted(paths[i] for i in outcome if i not in prev_result)
    missing = sorted(paths[i] for i in prev_result if i not in outcome)
    changed: list[str] = []
    new: list[tuple[str, Finding]] = []
    resolved: list[tuple[str, Finding]] = []
    for image_id, row in outcome.items():
        before, after = prev_result.get(image_id), row.result_scan_id
        if image_id not in prev_result or before == after or after is None or before is None:
            continue
        changed.append(paths[image_id])
        old = {_key(f): f for f in found.get(before, ())}
        cur = {_key(f): f for f in found.get(after, ())}
        new.extend((paths[image_id], f) for k, f in cur.items() if k not in old)
        resolved.extend((paths[image_id], f) for k, f in old.items() if k not in cur)
    return Changes(
        previous_id,
        latest_id,
        tuple(new_images),
        tuple(missing),
        tuple(sorted(changed)),
        tuple(new),
        tuple(resolved),
    )
