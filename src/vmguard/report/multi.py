"""Several reports in one output, in the formats whose writers take one report at a time
(``vmguard audit`` of several configuration files, ``vmguard scan`` of several images).

Several reports are, in JSON, one object ``{"tool", "reports": [report, ...], "summary"}``
whose ``reports`` are each a full contract report and whose ``summary`` adds them up; on the
console they follow one another. ``report.formats`` chooses these for several reports and the
single-report writer for one. This module must never change what a single report looks like.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TextIO

from vmguard import __version__
from vmguard.findings import Report, Severity
from vmguard.report.console import write_console
from vmguard.report.json_writer import report_json


def total_summary(reports: Sequence[Report]) -> dict[str, int]:
    """Findings per severity over all reports."""
    totals = {s.value: 0 for s in Severity}
    for report in reports:
        for key, count in report.summary().items():
            totals[key] += count
    return totals


def write_console_reports(reports: Sequence[Report], out: TextIO) -> None:
    """Each report's console text, a blank line after each."""
    for report in reports:
        write_console(report, out)
        out.write("\n")


def write_json_reports(reports: Sequence[Report], out: TextIO) -> None:
    """One document holding every report and their total summary."""
    document = {
        "tool": {"name": "vmguard", "version": __version__},
        "reports": [report_json(r) for r in reports],
        "summary": total_summary(reports),
    }
    json.dump(document, out, indent=2, ensure_ascii=True)
    out.write("\n")
