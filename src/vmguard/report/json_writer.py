"""The JSON report (DESIGN.md contract): one object per report."""

from __future__ import annotations

import json
from typing import Any, TextIO

from vmguard import __version__
from vmguard.findings import Finding, Report
from vmguard.report.compliance import compliance_json


def finding_json(finding: Finding) -> dict[str, Any]:
    """One finding as its JSON object."""
    loc = finding.location
    location: dict[str, Any] = {"path": loc.path, "area": loc.area.value}
    for key in ("line", "offset", "partition"):
        value = getattr(loc, key)
        if value is not None:
            location[key] = value
    document: dict[str, Any] = {
        "rule_id": finding.rule_id,
        "title": finding.title,
        "severity": finding.severity.value,
        "threat": finding.threat.value,
        "location": location,
        "evidence": finding.evidence,
        "remediation": finding.remediation,
        "references": list(finding.references),
    }
    if finding.subject is not None:
        document["subject"] = finding.subject
    if finding.suppressed is not None:
        document["suppressed"] = finding.suppressed
    return document


def report_json(report: Report) -> dict[str, Any]:
    """The whole report as a JSON-ready dict."""
    document: dict[str, Any] = {
        "tool": {"name": "vmguard", "version": __version__},
        "target": {"kind": report.target.kind, "path": report.target.path},
    }
    if report.inventory is not None:
        document["inventory"] = report.inventory.to_json()
    document["findings"] = [finding_json(f) for f in report.findings]
    document["summary"] = report.summary()
    document["errors"] = [{"path": e.where, "message": e.reason} for e in report.errors]
    if report.compliance is not None:
        document["compliance"] = compliance_json(report.compliance)
    return document


def write_json(report: Report, out: TextIO) -> None:
    """Write the report as indented JSON (ASCII-safe: guest strings are escaped)."""
    json.dump(report_json(report), out, indent=2, ensure_ascii=True)
    out.write("\n")
