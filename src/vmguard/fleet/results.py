"""Reading stored scan results back: findings, inventory documents, markers, errors.

Findings come back without fingerprints (the database never had them). This module must
never write.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from vmguard.findings import Area, Finding, Location, Severity, Threat
from vmguard.fleet.schema import findings, inventories, scan_errors, secret_markers
from vmguard.problems import Problem, Stage


@dataclass(frozen=True, slots=True)
class StoredResults:
    """Everything one result-holding scan row recorded."""

    inventory: dict[str, Any] | None
    findings: tuple[Finding, ...]
    markers: tuple[dict[str, Any], ...]
    """Rows of ``secret_markers`` (kind, key_hmac, path, evidence)."""
    errors: tuple[Problem, ...]


def finding_of(row: Any) -> Finding:
    """A ``findings`` row as a Finding."""
    return Finding(
        rule_id=row.rule_id,
        title=row.title,
        severity=Severity(row.severity),
        threat=Threat(row.threat),
        location=Location(row.path, Area(row.area), row.line, row.offset, row.partition),
        evidence=row.evidence,
        remediation=row.remediation,
        references=tuple(row.references or ()),
        subject=row.subject,
    )


def findings_of(conn: Connection, scan_ids: Iterable[int]) -> dict[int, list[Finding]]:
    """Findings per scan id, in stored order."""
    ids = list(scan_ids)
    out: dict[int, list[Finding]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = conn.execute(select(findings).where(findings.c.scan_id.in_(ids)).order_by(findings.c.id))
    for row in rows:
        out[row.scan_id].append(finding_of(row))
    return out


def errors_of(conn: Connection, scan_ids: Iterable[int]) -> dict[int, list[Problem]]:
    """Recorded read errors per scan id."""
    ids = list(scan_ids)
    out: dict[int, list[Problem]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = conn.execute(
        select(scan_errors).where(scan_errors.c.scan_id.in_(ids)).order_by(scan_errors.c.id)
    )
    for row in rows:
        out[row.scan_id].append(Problem(Stage.STORED, row.path, row.message))
    return out


def load_results(conn: Connection, scan_id: int) -> StoredResults:
    """The results one scan row holds."""
    inventory = conn.execute(
        select(inventories.c.document).where(inventories.c.scan_id == scan_id)
    ).scalar()
    markers = conn.execute(
        select(
            secret_markers.c.kind,
            secret_markers.c.key_hmac,
            secret_markers.c.path,
            secret_markers.c.evidence,
        ).where(secret_markers.c.scan_id == scan_id)
    )
    return StoredResults(
        inventory,
        tuple(findings_of(conn, [scan_id])[scan_id]),
        tuple(dict(m._mapping) for m in markers),
        tuple(errors_of(conn, [scan_id])[scan_id]),
    )
