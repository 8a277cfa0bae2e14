"""Writing a fleet scan's results: one transaction per image, as results stream in.

Each result is committed as soon as it arrives, so an interrupted run keeps what it
finished. This module must never store a secret, a password hash or a plain secret digest:
markers go in as ``FleetDatabase.key_hmac`` of their digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from vmguard import __version__
from vmguard.findings import Finding
from vmguard.fleet.database import FleetDatabase, shown
from vmguard.fleet.errors import FleetDatabaseError
from vmguard.fleet.identity import FileState
from vmguard.fleet.inventory_codec import encode_inventory
from vmguard.fleet.schema import (
    findings,
    images,
    inventories,
    runs,
    scan_errors,
    scans,
    secret_markers,
)
from vmguard.fleet.task import ImageResult, SecretMarker
from vmguard.inventory import Inventory
from vmguard.problems import Problem

VULNS_ERROR_PATH = "(vulnerability matching)"
"""``scan_errors.path`` of what kept vulnerability matching from looking; replaced on re-match."""


@dataclass(frozen=True, slots=True)
class StoredImage:
    """What the database holds about an image, for the incremental decision."""

    image_id: int
    path: str
    files: tuple[FileState, ...]
    content_digest: str | None
    scan_id: int | None
    """The scan whose results describe the image now (None: never scanned successfully)."""
    tool_version: str | None
    rule_version: str | None
    vulns_version: str | None


def _now() -> datetime:
    return datetime.now(UTC)


def database_error(db: FleetDatabase, what: str, err: SQLAlchemyError) -> FleetDatabaseError:
    orig = getattr(err, "orig", None)
    lines = str(orig if orig is not None else err).strip().splitlines()
    return FleetDatabaseError(f"{shown(db.url)}: {what}: {lines[0] if lines else err}")


def start_run(
    db: FleetDatabase, engine: str, sources: Sequence[str], rule_version: str, vulns: str | None
) -> int:
    """Record the start of a run; returns its id."""
    try:
        with db.engine.begin() as conn:
            row = conn.execute(
                insert(runs).values(
                    started_at=_now(),
                    engine=engine,
                    sources=list(sources),
                    tool_version=__version__,
                    rule_version=rule_version,
                    vulns_version=vulns,
                )
            )
            return int(row.inserted_primary_key[0])  # type: ignore[index]
    except SQLAlchemyError as err:
        raise database_error(db, "cannot record the run", err) from err


def finish_run(db: FleetDatabase, run_id: int, counts: dict[str, int]) -> None:
    """Record the end of a run and what it did."""
    try:
        with db.engine.begin() as conn:
            conn.execute(
                update(runs).where(runs.c.id == run_id).values(finished_at=_now(), counts=counts)
            )
    except SQLAlchemyError as err:
        raise database_error(db, "cannot record the run", err) from err


def load_images(db: FleetDatabase) -> dict[str, StoredImage]:
    """Every known image by path, with the versions of its current results."""
    query = select(
        images.c.id,
        images.c.path,
        images.c.files,
        images.c.content_digest,
        images.c.current_scan_id,
        scans.c.tool_version,
        scans.c.rule_version,
        scans.c.vulns_version,
    ).outerjoin(scans, scans.c.id == images.c.current_scan_id)
    try:
        with db.engine.connect() as conn:
            rows = conn.execute(query).all()
    except SQLAlchemyError as err:
        raise database_error(db, "cannot read images", err) from err
    return {
        r.path: StoredImage(
            r.id,
            r.path,
            tuple(FileState.from_json(f) for f in (r.files or ())),
            r.content_digest,
            r.current_scan_id,
            r.tool_version,
            r.rule_version,
            r.vulns_version,
        )
        for r in rows
    }


def upsert_image(conn: Connection, result: ImageResult, now: datetime) -> int:
    values: dict[str, Any] = {"last_seen": now}
    if result.outcome != "error" and result.format is not None:
        top = result.files[0] if result.files else None
        values |= {
            "format": result.format,
            "virtual_size": result.virtual_size,
            "content_digest": result.content_digest,
            "files": [f.to_json() for f in result.files],
            "file_size": top.size if top else None,
            "modified_at": datetime.fromtimestamp(top.mtime_ns / 1e9, UTC) if top else None,
        }
    existing = conn.execute(select(images.c.id).where(images.c.path == result.path)).scalar()
    if existing is None:
        row = conn.execute(insert(images).values(path=result.path, first_seen=now, **values))
        return int(row.inserted_primary_key[0])  # type: ignore[index]
    conn.execute(update(images).where(images.c.id == existing).values(**values))
    return int(existing)


def insert_scan(
    conn: Connection,
    run_id: int,
    image_id: int,
    outcome: str,
    *,
    versions: tuple[str, str | None],
    result: ImageResult,
    result_scan_id: int | None = None,
) -> int:
    """Insert one ``scans`` row; returns its id."""
    row = conn.execute(
        insert(scans).values(
            run_id=run_id,
            image_id=image_id,
            outcome=outcome,
            result_scan_id=result_scan_id,
            tool_version=__version__,
            rule_version=versions[0],
            vulns_version=versions[1],
            content_digest=result.content_digest,
            started_at=result.started,
            duration=result.duration,
            error=result.error,
        )
    )
    return int(row.inserted_primary_key[0])  # type: ignore[index]


def insert_results(
    db: FleetDatabase,
    conn: Connection,
    scan_id: int,
    *,
    inventory: Inventory | dict[str, Any] | None,
    found: Sequence[Finding],
    markers: Sequence[SecretMarker],
    errors: Sequence[Problem],
) -> None:
    """Make ``scan_id`` hold results: its inventory, findings, markers and errors."""
    conn.execute(update(scans).where(scans.c.id == scan_id).values(result_scan_id=scan_id))
    if inventory is not None:
        doc = encode_inventory(inventory) if isinstance(inventory, Inventory) else inventory
        os_doc = doc.get("os") or {}
        conn.execute(
            insert(inventories).values(
                scan_id=scan_id,
                os_distro=os_doc.get("distro"),
                os_version=os_doc.get("version"),
                os_name=os_doc.get("pretty_name"),
                hostname=os_doc.get("hostname"),
                packages=len(doc["packages"]),
                document=doc,
            )
        )
    if found:
        conn.execute(insert(findings), [_finding_row(scan_id, f) for f in found])
    if markers:
        conn.execute(
            insert(secret_markers),
            [
                {
                    "scan_id": scan_id,
                    "kind": m.kind,
                    "key_hmac": db.key_hmac(m.digest),
                    "path": m.path,
                    "evidence": m.evidence,
                }
                for m in markers
            ],
        )
    if errors:
        conn.execute(
            insert(scan_errors),
            [{"scan_id": scan_id, "path": e.where, "message": e.reason} for e in errors],
        )


def _finding_row(scan_id: int, f: Finding) -> dict[str, Any]:
    return {
        "scan_id": scan_id,
        "rule_id": f.rule_id,
        "title": f.title,
        "severity": f.severity.value,
        "threat": f.threat.value,
        "path": f.location.path,
        "area": f.location.area.value,
        "line": f.location.line,
        "offset": f.location.offset,
        "partition": f.location.partition,
        "evidence": f.evidence,
        "remediation": f.remediation,
        "references": list(f.references),
        "subject": f.subject,
    }


def record_result(
    db: FleetDatabase,
    run_id: int,
    result: ImageResult,
    versions: tuple[str, str | None],
    stored: StoredImage | None,
    *,
    extra: tuple[Sequence[Finding], Sequence[Problem]] = ((), ()),
) -> None:
    """Store one task result (``extra``: vulnerability findings and matching problems)."""
    now = _now()
    try:
        with db.engine.begin() as conn:
            image_id = upsert_image(conn, result, now)
            if result.outcome == "unchanged" and stored is not None and stored.scan_id:
                insert_scan(
                    conn,
                    run_id,
                    image_id,
                    "unchanged",
                    versions=versions,
                    result=result,
                    result_scan_id=stored.scan_id,
                )
                return
            if result.outcome == "error":
                insert_scan(conn, run_id, image_id, "error", versions=versions, result=result)
                return
            scan_id = insert_scan(
                conn, run_id, image_id, "scanned", versions=versions, result=result
            )
            insert_results(
                db,
                conn,
                scan_id,
                inventory=result.inventory,
                found=[*result.findings, *extra[0]],
                markers=result.markers,
                errors=[*result.errors, *extra[1]],
            )
            conn.execute(
                update(images).where(images.c.id == image_id).values(current_scan_id=scan_id)
            )
    except SQLAlchemyError as err:
        raise database_error(db, f"cannot store the results of {result.path}", err) from err
