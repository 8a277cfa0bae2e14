"""Exit codes, the error line, and choosing a writer for --format."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from vmguard.findings import Report, Severity
from vmguard.report.interface import OutputFormat

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


def fail(message: str) -> NoReturn:
    """Print the one-line error and exit 2."""
    line = " ".join(message.split())
    sys.stderr.write(f"vmguard: error: {line}\n")
    sys.exit(EXIT_USAGE)


def emit(report: Report, fmt: OutputFormat, output: Path | None) -> None:
    """Render one report to --output or stdout (exactly as its format's writer writes it)."""
    emit_all([report], fmt, output)


def exit_code(report: Report, fail_on: Severity) -> int:
    """1 when a finding reaches --fail-on, else 0."""
    worst = report.worst()
    return EXIT_FINDINGS if worst is not None and worst.rank >= fail_on.rank else EXIT_OK


def emit_all(reports: Sequence[Report], fmt: OutputFormat, output: Path | None) -> None:
    """Render one report as its format's contract, several as ``report.multi`` combines them."""
    from vmguard.report.multi import write_reports  # the writers load only when output is due

    out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        write_reports(reports, fmt, out)
    finally:
        if output:
            out.close()


def exit_code_all(reports: Sequence[Report], fail_on: Severity) -> int:
    """1 when a finding of any report reaches --fail-on, else 0."""
    return max((exit_code(r, fail_on) for r in reports), default=EXIT_OK)
