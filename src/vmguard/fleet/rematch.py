"""Re-matching dormant images against a changed advisory index, from stored inventories.

An image whose files and rules are unchanged but whose results were matched against
another advisory index version is not read again: its stored inventory is matched anew and
a ``rematched`` scan row holds the previous non-vulnerability results plus the new
vulnerability findings. This module must never open an image.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import insert, update
from sqlalchemy.exc import SQLAlchemyError

from vmguard.findings import Finding, Threat
from vmguard.fleet.database import FleetDatabase
from vmguard.fleet.inventory_codec import decode_inventory
from vmguard.fleet.results import load_results
from vmguard.fleet.schema import images, scans, secret_markers
from vmguard.fleet.store import (
    VULNS_ERROR_PATH,
    StoredImage,
    database_error,
    insert_results,
    insert_scan,
    upsert_image,
)
from vmguard.fleet.task import ImageResult
from vmguard.inventory import Inventory
from vmguard.problems import Problem
from vmguard.vulns.findings import package_findings
from vmguard.vulns.index import AdvisoryIndex
from vmguard.vulns.matching import find_vulnerabilities


def vulnerability_results(
    inventory: Inventory | None, index: AdvisoryIndex | None
) -> tuple[list[Finding], list[Problem]]:
    """Vulnerable-software findings for an inventory, and what kept matching from looking."""
    if inventory is None or index is None:
        return [], []
    scan = find_vulnerabilities(inventory, index)
    return package_findings(scan), [replace(p, where=VULNS_ERROR_PATH) for p in scan.problems]


def record_rematch(
    db: FleetDatabase,
    run_id: int,
    stored: StoredImage,
    index: AdvisoryIndex,
    versions: tuple[str, str | None],
) -> int:
    """Re-match one image from its stored inventory; returns the new vulnerability count."""
    assert stored.scan_id is not None
    started = datetime.now(UTC)
    clock = time.perf_counter()
    try:
        with db.engine.begin() as conn:
            previous = load_results(conn, stored.scan_id)
            inventory = (
                decode_inventory(previous.inventory) if previous.inventory is not None else None
            )
            vulns, problems = vulnerability_results(inventory, index)
            kept = [f for f in previous.findings if f.threat is not Threat.VULNERABLE_SOFTWARE]
            errors = [e for e in previous.errors if e.where != VULNS_ERROR_PATH]
            result = ImageResult(
                stored.path, "scanned", started, 0.0, stored.files, stored.content_digest
            )
            image_id = upsert_image(conn, result, started)
            scan_id = insert_scan(
                conn, run_id, image_id, "rematched", versions=versions, result=result
            )
            insert_results(
                db,
                conn,
                scan_id,
                inventory=previous.inventory,
                found=[*kept, *vulns],
                markers=(),
                errors=[*errors, *problems],
            )
            if previous.markers:
                conn.execute(
                    insert(secret_markers), [{"scan_id": scan_id, **m} for m in previous.markers]
                )
            conn.execute(
                update(images).where(images.c.id == image_id).values(current_scan_id=scan_id)
            )
            conn.execute(
                update(scans)
                .where(scans.c.id == scan_id)
                .values(duration=time.perf_counter() - clock)
            )
    except SQLAlchemyError as err:
        raise database_error(db, f"cannot store the re-match of {stored.path}", err) from err
    return len(vulns)
