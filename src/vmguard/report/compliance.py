"""A report's guide compliance (``--profile``) in each output format.

One place for what every writer needs: the JSON object, the SARIF tool extension and
results (SARIF's own ``kind``: pass, fail, notApplicable, review), the JUnit test suite
(one case per item and subject) and plain-text lines. Reasons are evidence that was
already redacted by the rules; this module never reads a file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vmguard.findings import Finding, Report, TargetKind
from vmguard.profiles.model import Compliance, ItemResult, ItemStatus
from vmguard.text import printable

SARIF_KIND = {
    ItemStatus.PASS: "pass",
    ItemStatus.FAIL: "fail",
    ItemStatus.NOT_APPLICABLE: "notApplicable",
    ItemStatus.MANUAL: "review",
}
LABEL = {
    ItemStatus.PASS: "PASS",
    ItemStatus.FAIL: "FAIL",
    ItemStatus.NOT_APPLICABLE: "N/A",
    ItemStatus.MANUAL: "MANUAL",
}


def compliance_json(compliance: Compliance) -> dict[str, Any]:
    """The ``compliance`` object of the JSON report."""
    return {
        "profile": compliance.profile,
        "guide": compliance.guide,
        "summary": compliance.counts(),
        "items": [
            {
                "id": r.item_id,
                "title": r.title,
                "subject": r.subject,
                "status": r.status.value,
                "reason": r.reason,
                "rules": list(r.rules),
            }
            for r in compliance.results
        ],
    }


def text_lines(compliance: Compliance) -> list[str]:
    """Plain lines: a heading, then per subject one line per item with its reason."""
    counts = compliance.counts()
    lines = [
        f"Compliance: {compliance.guide} (--profile {compliance.profile})",
        "  " + ", ".join(f"{n} {status}" for status, n in counts.items()),
    ]
    subject = None
    for result in compliance.results:
        if result.subject != subject:
            subject = result.subject
            lines.append(f"  {printable(subject)}")
        lines.append(f"    {LABEL[result.status]:<6}  {result.item_id}  {printable(result.title)}")
        if result.status is not ItemStatus.PASS:
            lines.append(f"            {printable(result.reason)}")
    return lines


def failed_items(report: Report, finding: Finding) -> list[str]:
    """Ids of the items this finding fails (for the finding's SARIF properties)."""
    if report.compliance is None:
        return []
    return sorted(
        {
            r.item_id
            for r in report.compliance.results
            if r.status is ItemStatus.FAIL
            and finding.rule_id in r.rules
            and r.subject in (finding.subject, report.target.path)
        }
    )


def sarif_extensions(reports: Sequence[Report]) -> list[dict[str, Any]]:
    """One SARIF tool component per profile used, its items as rules."""
    seen: dict[str, dict[str, Any]] = {}
    for report in reports:
        c = report.compliance
        if c is None or c.profile in seen:
            continue
        items = list(dict.fromkeys((r.item_id, r.title) for r in c.results))
        seen[c.profile] = {
            "name": c.profile,
            "fullName": c.guide,
            "rules": [{"id": i, "shortDescription": {"text": t}} for i, t in items],
        }
    return list(seen.values())


def _sarif_result(report: Report, result: ItemResult, component: int, rule: int) -> dict[str, Any]:
    kind = SARIF_KIND[result.status]
    return {
        "ruleId": result.item_id,
        "rule": {"id": result.item_id, "index": rule, "toolComponent": {"index": component}},
        "kind": kind,
        "level": "error" if kind == "fail" else "none",
        "message": {"text": f"{result.item_id} {result.status.value}: {result.reason}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": Path(report.target.path).absolute().as_uri()}
                },
                "logicalLocations": [{"name": result.subject, "kind": "virtual-machine"}]
                if report.target.kind != TargetKind.HOST
                else [{"name": result.subject, "kind": "host"}],
            }
        ],
        "properties": {
            "guideItem": result.item_id,
            "status": result.status.value,
            "subject": result.subject,
            "decidedBy": list(result.rules),
            "target": report.target.path,
        },
    }


def sarif_results(reports: Sequence[Report], extensions: list[dict[str, Any]]) -> list[Any]:
    """Every item of every report as a SARIF result of its profile's tool component."""
    components = {ext["name"]: n for n, ext in enumerate(extensions)}
    indexes = {
        ext["name"]: {rule["id"]: i for i, rule in enumerate(ext["rules"])} for ext in extensions
    }
    results = []
    for report in reports:
        c = report.compliance
        if c is None:
            continue
        for r in c.results:
            rule = indexes[c.profile][r.item_id]
            results.append(_sarif_result(report, r, components[c.profile], rule))
    return results


def junit_suite(report: Report) -> ET.Element | None:
    """One ``<testsuite>`` of the report's items: fail = failure, n/a and manual = skipped."""
    c = report.compliance
    if c is None:
        return None
    suite = ET.Element("testsuite", name=printable(f"vmguard {c.profile} {report.target.path}"))
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="profile.guide", value=printable(c.guide))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for r in c.results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=printable(f"{c.profile}.{r.subject}"),
            name=printable(f"{r.item_id} {r.title}"),
            time="0",
        )
        ET.SubElement(ET.SubElement(case, "properties"), "property", name="guide.item",
                      value=printable(r.item_id))  # fmt: skip
        if r.status is ItemStatus.FAIL:
            ET.SubElement(case, "failure", message=printable(r.reason), type="fail")
            counts["failures"] += 1
        elif r.status is not ItemStatus.PASS:
            message = f"{r.status.value}: {r.reason}"
            ET.SubElement(case, "skipped", message=printable(message))
            counts["skipped"] += 1
        counts["tests"] += 1
    for key, count in counts.items():
        suite.set(key, str(count))
    suite.set("time", "0")
    return suite
