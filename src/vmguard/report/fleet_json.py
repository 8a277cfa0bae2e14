"""The fleet posture as one JSON document (``fleet report --format json``).

Findings use the single-image report's finding objects (``report.json_writer``). This module
must never write a marker HMAC, a fingerprint or a secret: shared secrets are described by
kind, images and redacted evidence.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from vmguard import __version__
from vmguard.findings import Finding, Severity
from vmguard.report.json_writer import finding_json

if TYPE_CHECKING:
    from vmguard.fleet.correlation import SharedSecret
    from vmguard.fleet.posture import FleetPosture, ImagePosture


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _summary(findings: tuple[Finding, ...]) -> dict[str, int]:
    counts = {s.value: 0 for s in Severity}
    for f in findings:
        counts[f.severity.value] += 1
    return counts


def _image(image: ImagePosture) -> dict[str, Any]:
    return {
        "path": image.path,
        "format": image.format,
        "os": image.os_name or None,
        "hostname": image.hostname or None,
        "first_seen": _time(image.first_seen),
        "last_seen": _time(image.last_seen),
        "modified_at": _time(image.modified_at),
        "latest_outcome": image.latest_outcome,
        "error": image.error,
        "worst": image.worst.value if image.worst else None,
        "summary": _summary(image.findings),
        "findings": [finding_json(f) for f in image.findings],
        "errors": [{"path": e.where, "message": e.reason} for e in image.errors],
    }


def _shared(group: SharedSecret) -> dict[str, Any]:
    from vmguard.fleet.correlation import shared_findings  # SQLAlchemy loads only for fleets

    rule = shared_findings(group)[0][1]
    return {
        "kind": group.kind,
        "rule_id": rule.rule_id,
        "severity": group.severity.value,
        "threat": "guest-to-guest",
        "image_count": len(group.images),
        "images": list(group.images),
        "carriers": [
            {"image": c.image, "path": c.path, "evidence": c.evidence} for c in group.carriers
        ],
    }


def posture_json(posture: FleetPosture) -> dict[str, Any]:
    """The whole posture as a JSON-ready dict."""
    run = posture.latest_run
    changes = posture.changes
    return {
        "tool": {"name": "vmguard", "version": __version__},
        "target": {"kind": "fleet", "path": posture.database},
        "generated": _time(posture.generated),
        "latest_run": None
        if run is None
        else {
            "id": run["id"],
            "engine": run["engine"],
            "started_at": _time(run["started_at"]),
            "finished_at": _time(run["finished_at"]),
            "rule_version": run["rule_version"],
            "vulns_version": run["vulns_version"],
            "counts": run["counts"],
        },
        "summary": {
            "images": len(posture.images),
            "by_worst_severity": posture.by_severity(),
            "by_threat": {
                t: {"images": n, "findings": m} for t, (n, m) in posture.by_threat().items()
            },
            "by_os": posture.by_os(),
            "by_age": posture.by_age(),
            "shared_secrets": len(posture.shared),
        },
        "images": [_image(i) for i in posture.images],
        "shared_secrets": [_shared(g) for g in posture.shared],
        "changes": {
            "previous_run": changes.previous_run,
            "latest_run": changes.latest_run,
            "new_images": list(changes.new_images),
            "missing_images": list(changes.missing_images),
            "changed_images": list(changes.changed_images),
            "new_findings": [{"image": i, **finding_json(f)} for i, f in changes.new_findings],
            "resolved_findings": [
                {"image": i, **finding_json(f)} for i, f in changes.resolved_findings
            ],
        },
    }


def write_posture_json(posture: FleetPosture, out: TextIO) -> None:
    """Write the posture document."""
    json.dump(posture_json(posture), out, indent=2, ensure_ascii=True)
    out.write("\n")
