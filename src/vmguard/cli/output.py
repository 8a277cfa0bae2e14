"""Exit codes, the error line, and choosing a writer for --format."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, assert_never

from vmguard.findings import Report, Severity
from vmguard.report.console import write_console
from vmguard.report.html import write_html
from vmguard.report.interface import OutputFormat
from vmguard.report.json_writer import write_json
from vmguard.report.junit import write_junit
from vmguard.report.sarif import write_sarif

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


def fail(message: str) -> NoReturn:
    """Print the one-line error and exit 2."""
    line = " ".join(message.split())
    sys.stderr.write(f"vmguard: error: {line}\n")
    sys.exit(EXIT_USAGE)


def emit(report: Report, fmt: OutputFormat, output: Path | None) -> None:
    """Render the report to --output or stdout."""
    out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        match fmt:
            case OutputFormat.CONSOLE:
                write_console(report, out)
            case OutputFormat.JSON:
                write_json(report, out)
            case OutputFormat.SARIF:
                write_sarif(report, out)
            case OutputFormat.HTML:
                write_html(report, out)
            case OutputFormat.JUNIT:
                write_junit(report, out)
            case _:
                assert_never(fmt)
    finally:
        if output:
            out.close()


def exit_code(report: Report, fail_on: Severity) -> int:
    """1 when a finding reaches --fail-on, else 0."""
    worst = report.worst()
    return EXIT_FINDINGS if worst is not None and worst.rank >= fail_on.rank else EXIT_OK


def emit_all(reports: Sequence[Report], fmt: OutputFormat, output: Path | None) -> None:
    """Render one report as its format's contract, several as ``report.multi`` combines them."""
    from vmguard.report.multi import write_reports

    out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        write_reports(reports, fmt, out)
    finally:
        if output:
            out.close()


def exit_code_all(reports: Sequence[Report], fail_on: Severity) -> int:
    """1 when a finding of any report reaches --fail-on, else 0."""
    return max((exit_code(r, fail_on) for r in reports), default=EXIT_OK)
