"""Several reports in one output (``vmguard audit`` of several configuration files).

A single report is written exactly as its format's writer writes it (the DESIGN contract).
Several reports are, in JSON, one object ``{"tool", "reports": [report, ...], "summary"}``
whose ``reports`` are each a full contract report and whose ``summary`` adds them up; on the
console they follow one another. This module must never change what a single report looks
like.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TextIO, assert_never

from vmguard import __version__
from vmguard.findings import Report, Severity
from vmguard.report.console import write_console
from vmguard.report.html import write_html, write_html_reports
from vmguard.report.interface import OutputFormat
from vmguard.report.json_writer import report_json, write_json
from vmguard.report.junit import write_junit, write_junit_reports
from vmguard.report.sarif import write_sarif, write_sarif_reports


def total_summary(reports: Sequence[Report]) -> dict[str, int]:
    """Findings per severity over all reports."""
    totals = {s.value: 0 for s in Severity}
    for report in reports:
        for key, count in report.summary().items():
            totals[key] += count
    return totals


def write_reports(reports: Sequence[Report], fmt: OutputFormat, out: TextIO) -> None:
    """Write one report as-is, or several as described in the module docstring."""
    if len(reports) == 1:
        match fmt:
            case OutputFormat.CONSOLE:
                write_console(reports[0], out)
            case OutputFormat.JSON:
                write_json(reports[0], out)
            case OutputFormat.SARIF:
                write_sarif(reports[0], out)
            case OutputFormat.HTML:
                write_html(reports[0], out)
            case OutputFormat.JUNIT:
                write_junit(reports[0], out)
            case _:
                assert_never(fmt)
        return
    match fmt:
        case OutputFormat.CONSOLE:
            for report in reports:
                write_console(report, out)
                out.write("\n")
        case OutputFormat.JSON:
            document = {
                "tool": {"name": "vmguard", "version": __version__},
                "reports": [report_json(r) for r in reports],
                "summary": total_summary(reports),
            }
            json.dump(document, out, indent=2, ensure_ascii=True)
            out.write("\n")
        case OutputFormat.SARIF:  # one run with every result: what GitHub code scanning takes
            write_sarif_reports(reports, out)
        case OutputFormat.HTML:  # one page, one section per report
            write_html_reports(reports, out)
        case OutputFormat.JUNIT:  # one testsuite per report
            write_junit_reports(reports, out)
        case _:
            assert_never(fmt)
