"""The SARIF 2.1.0 report, shaped for GitHub code scanning and other SARIF consumers.

Several reports become one run holding every result (GitHub rejects uploads with several
runs of one tool in one category). Rules are built from the rule ids present in the results.
Guest paths are URIs relative to the image (``uriBaseId`` ``IMAGEROOT``), configuration
and host paths are file URIs. This module must never render a finding's ``fingerprint``
(a digest of the secret): ``partialFingerprints`` hash where a finding is, not what it holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any, TextIO
from urllib.parse import quote

from vmguard import __version__
from vmguard.checks.registry import all_rules
from vmguard.findings import Area, Finding, Report, Severity, TargetKind
from vmguard.report.compliance import failed_items, sarif_extensions, sarif_results
from vmguard.report.threats import threat_info

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
FINGERPRINT_KEY = "vmguardLocation/v1"

SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
"""GitHub's ``security-severity`` scale (critical >= 9.0, high >= 7.0, medium >= 4.0)."""

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


def _file_uri(path: str) -> str:
    """An absolute path as a file URI; a relative one as a relative reference."""
    p = Path(path)
    return p.as_uri() if p.is_absolute() else quote(p.as_posix(), safe="/")


def _guest_uri(path: str) -> str:
    """A guest path as a URI relative to the image root.

    Empty and "." segments are dropped and ".." is kept percent-encoded, so a hostile guest
    name cannot climb out of ``IMAGEROOT`` when a consumer resolves the reference.
    """
    parts = [seg for seg in PurePosixPath("/", path).parts[1:] if seg not in ("", ".")]
    return "/".join("%2E%2E" if seg == ".." else quote(seg, safe="") for seg in parts) or "."


def _base_id(index: int, count: int) -> str:
    return "IMAGEROOT" if count == 1 else f"IMAGEROOT{index + 1}"


def _location(finding: Finding, report: Report, base_id: str) -> dict[str, Any]:
    loc = finding.location
    if loc.area is Area.FILE:
        # A file inside a guest; only an image target has one root to resolve it against.
        artifact: dict[str, Any] = {"uri": _guest_uri(loc.path)}
        if report.target.kind == TargetKind.IMAGE:
            artifact["uriBaseId"] = base_id
    elif loc.area is Area.UNALLOCATED:
        # Free space has no file: the artifact is the image, the place a logical location.
        artifact = {"uri": _file_uri(report.target.path)}
    else:
        artifact = {"uri": _file_uri(loc.path)}
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if loc.line is not None and loc.line >= 1:
        physical["region"] = {"startLine": loc.line}
    elif loc.area is Area.IMAGE and loc.offset is not None:
        physical["region"] = {"byteOffset": loc.offset}
    location: dict[str, Any] = {"physicalLocation": physical}
    if loc.area is Area.UNALLOCATED:
        where = f"partition {loc.partition}" if loc.partition is not None else "disk"
        if loc.offset is not None:
            where += f" byte offset {loc.offset}"
        location["logicalLocations"] = [
            {"name": where, "fullyQualifiedName": loc.path, "kind": "unallocated-space"}
        ]
        location["message"] = {"text": f"unallocated space of {loc.path}, {where}"}
    elif finding.subject is not None:
        location["logicalLocations"] = [{"name": finding.subject, "kind": "virtual-machine"}]
    return location


def _partial_fingerprint(finding: Finding) -> str:
    loc = finding.location
    key = "\0".join(
        str(part)
        for part in (
            finding.rule_id,
            loc.area.value,
            loc.path,
            loc.line,
            loc.offset,
            loc.partition,
            finding.subject,
        )
    )
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def _result(
    finding: Finding, report: Report, base_id: str, rule_index: int, rule_fix: str
) -> dict[str, Any]:
    message = f"{finding.title}: {finding.evidence}"
    if finding.remediation != rule_fix:  # the rule's help says how to fix the usual case
        message += f" How to fix: {finding.remediation}"
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": LEVEL[finding.severity],
        "message": {"text": message},
        "locations": [_location(finding, report, base_id)],
        "partialFingerprints": {FINGERPRINT_KEY: _partial_fingerprint(finding)},
        "properties": {
            "severity": finding.severity.value,
            "threat": finding.threat.value,
            "security-severity": SECURITY_SEVERITY[finding.severity],
            "target": report.target.path,
        },
    }
    if finding.suppressed is not None:
        result["suppressions"] = [{"kind": "external", "justification": finding.suppressed}]
    return result


def _catalogue_titles() -> dict[str, str]:
    """Titles of the built-in image rules (a finding may carry a more specific title)."""
    return {rule.rule_id: rule.title for rule in all_rules()}


def _rule(rule_id: str, findings: Sequence[Finding], titles: dict[str, str]) -> dict[str, Any]:
    """A rule entry from the findings that carry its id (worst severity for the rule)."""
    first = findings[0]
    info = threat_info(first.threat)
    same_title = all(f.title == first.title for f in findings)
    title = titles.get(rule_id, first.title if same_title else f"{info.label}: {rule_id}")
    worst = max((f.severity for f in findings), key=lambda s: s.rank)
    section = f" (survey {info.section})" if info.section else ""
    references = list(dict.fromkeys(r for f in findings for r in f.references))
    markdown = f"**How to fix:** {first.remediation}\n\n**Threat class:** {info.label}{section}"
    markdown += f": {info.summary}"
    if references:
        markdown += "\n\n**References:**\n" + "\n".join(f"- {r}" for r in references)
    rule: dict[str, Any] = {
        "id": rule_id,
        "name": "".join(part.capitalize() for part in rule_id.replace(".", "-").split("-")),
        "shortDescription": {"text": title},
        "fullDescription": {
            "text": f"{title}. {info.label}{section}: {info.summary}",
        },
        "help": {"text": f"How to fix: {first.remediation}", "markdown": markdown},
        "defaultConfiguration": {"level": LEVEL[worst]},
        "properties": {
            "tags": ["security", first.threat.value],
            "security-severity": SECURITY_SEVERITY[worst],
            "precision": "high",
        },
    }
    http = [r for r in references if r.startswith(("https://", "http://"))]
    if http:
        rule["helpUri"] = http[0]
    return rule


def sarif_log(reports: Sequence[Report]) -> dict[str, Any]:
    """Every report as one SARIF log with one run."""
    by_rule: dict[str, list[Finding]] = {}
    for report in reports:
        for finding in report.findings:
            by_rule.setdefault(finding.rule_id, []).append(finding)
    rule_ids = sorted(by_rule)
    titles = _catalogue_titles() if by_rule else {}
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    results = []
    bases: dict[str, Any] = {}
    notifications = []
    for number, report in enumerate(reports):
        base_id = _base_id(number, len(reports))
        if report.target.kind == TargetKind.IMAGE:
            bases[base_id] = {
                "uri": Path(report.target.path).absolute().as_uri() + "/",
                "description": {"text": f"root of the guest filesystem in {report.target.path}"},
            }
        for f in report.findings:
            result = _result(
                f, report, base_id, index[f.rule_id], by_rule[f.rule_id][0].remediation
            )
            items = failed_items(report, f)
            if items:
                result["properties"]["guideItems"] = items
            results.append(result)
        notifications += [
            {
                "level": "warning",
                "message": {"text": f"could not read {e.where}: {e.reason}"},
                "descriptor": {"id": "read-error"},
            }
            for e in report.errors
        ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "vmguard",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule(r, by_rule[r], titles) for r in rule_ids],
            }
        },
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {
            "targets": [{"kind": r.target.kind, "path": r.target.path} for r in reports],
        },
    }
    extensions = sarif_extensions(reports)
    if extensions:
        run["tool"]["extensions"] = extensions
        run["results"] += sarif_results(reports, extensions)
    if bases:
        run["originalUriBaseIds"] = bases
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def write_sarif_reports(reports: Sequence[Report], out: TextIO) -> None:
    """Write several reports as one SARIF log (ASCII-safe JSON)."""
    json.dump(sarif_log(reports), out, indent=2, ensure_ascii=True)
    out.write("\n")


def write_sarif(report: Report, out: TextIO) -> None:
    """Write one report as a SARIF log."""
    write_sarif_reports([report], out)
