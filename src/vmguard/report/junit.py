"""The JUnit XML report, for CI systems that show test results.

One ``<testsuite>`` per report (named after its target) under one ``<testsuites>``. Each
finding is a test case that failed (``classname`` = threat class, ``name`` = rule and
location); a finding a policy suppressed is a skipped case with the policy's reason; a file
that could not be read is a case in error; a checked target without findings is one passing
case, so a clean run shows up as green rather than empty. Gating stays with ``--fail-on``.
With ``--profile`` a second suite per report holds one case per guide item and subject.
Every string goes through ``vmguard.text.printable``, so XML 1.0 can carry it (no control
characters, no unpaired surrogates).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TextIO

from vmguard import __version__
from vmguard.findings import Finding, Report
from vmguard.report.compliance import junit_suite
from vmguard.text import printable


def _where(finding: Finding) -> str:
    loc = finding.location
    where = loc.path
    if loc.line is not None:
        where += f":{loc.line}"
    if loc.partition is not None:
        where += f" partition {loc.partition}"
    if loc.offset is not None and loc.line is None:
        where += f" @{loc.offset}"
    if finding.subject is not None:
        where += f" [{finding.subject}]"
    return where


def _finding_case(suite: ET.Element, finding: Finding) -> str:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=printable(f"vmguard.{finding.threat.value}"),
        name=printable(f"{finding.rule_id} {_where(finding)}"),
        file=printable(finding.location.path),
        time="0",
    )
    if finding.location.line is not None:
        case.set("line", str(finding.location.line))
    details = "\n".join(
        [
            f"severity: {finding.severity.value}",
            f"threat: {finding.threat.value}",
            f"location: {printable(_where(finding))} ({finding.location.area.value})",
            f"evidence: {printable(finding.evidence)}",
            f"fix: {printable(finding.remediation)}",
            *(f"reference: {printable(r)}" for r in finding.references),
        ]
    )
    if finding.suppressed is not None:
        ET.SubElement(case, "skipped", message=printable(f"suppressed: {finding.suppressed}"))
        ET.SubElement(case, "system-out").text = details
        return "skipped"
    failure = ET.SubElement(
        case,
        "failure",
        message=printable(f"[{finding.severity.value}] {finding.title}: {finding.evidence}"),
        type=finding.severity.value,
    )
    failure.text = details
    return "failures"


def _suite(report: Report) -> ET.Element:
    suite = ET.Element(
        "testsuite", name=printable(f"vmguard {report.target.kind} {report.target.path}")
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("vmguard.version", __version__),
        ("target.kind", report.target.kind),
        ("target.path", report.target.path),
        *((f"summary.{s}", str(n)) for s, n in report.summary().items()),
    ):
        ET.SubElement(props, "property", name=name, value=printable(value))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    order = sorted(
        report.findings,
        key=lambda f: (-f.severity.rank, f.threat.value, f.rule_id, f.location.path),
    )
    for finding in order:
        counts[_finding_case(suite, finding)] += 1
        counts["tests"] += 1
    for error in report.errors:
        case = ET.SubElement(
            suite, "testcase", classname="vmguard.read-error", name=printable(error.where), time="0"
        )
        ET.SubElement(case, "error", message=printable(error.reason), type="read-error")
        counts["errors"] += 1
        counts["tests"] += 1
    if report.checked and not report.findings:
        ET.SubElement(suite, "testcase", classname="vmguard", name="no findings", time="0")
        counts["tests"] += 1
    for key, count in counts.items():
        suite.set(key, str(count))
    suite.set("time", "0")
    return suite


def junit_document(reports: Sequence[Report]) -> ET.Element:
    """Every report as one ``<testsuites>`` element."""
    root = ET.Element("testsuites", name="vmguard")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for report in reports:
        for suite in (_suite(report), junit_suite(report)):
            if suite is None:
                continue
            root.append(suite)
            for key in totals:
                totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    return root


def write_junit_reports(reports: Sequence[Report], out: TextIO) -> None:
    """Write several reports as one JUnit XML document."""
    tree = ET.ElementTree(junit_document(reports))
    ET.indent(tree)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    tree.write(out, encoding="unicode", xml_declaration=False)
    out.write("\n")


def write_junit(report: Report, out: TextIO) -> None:
    """Write one report as JUnit XML."""
    write_junit_reports([report], out)
