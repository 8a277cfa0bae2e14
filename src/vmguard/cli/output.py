"""Exit codes, the error line, and where --format output goes (``report.formats`` chooses
the writer)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from vmguard.findings import Report, Severity
from vmguard.report.interface import OutputFormat
from vmguard.text import one_line

if TYPE_CHECKING:
    from vmguard.fleet.posture import FleetPosture
    from vmguard.report.verification import Verification

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


def fail(message: str) -> NoReturn:
    """Print the one-line error (``vmguard.text.one_line``: it may name hostile input) and
    exit 2."""
    sys.stderr.write(f"vmguard: error: {one_line(message)}\n")
    sys.exit(EXIT_USAGE)


def emit(report: Report, fmt: OutputFormat, output: Path | None) -> None:
    """Render one report to --output or stdout (exactly as its format's writer writes it)."""
    emit_all([report], fmt, output)


def exit_code(report: Report, fail_on: Severity) -> int:
    """1 when a finding reaches --fail-on, else 0."""
    worst = report.worst()
    return EXIT_FINDINGS if worst is not None and worst.rank >= fail_on.rank else EXIT_OK


def emit_all(reports: Sequence[Report], fmt: OutputFormat, output: Path | None) -> None:
    """Render one report as its format's contract, several as the format combines them."""
    from vmguard.report.formats import write_reports  # the writers load only when output is due

    _to_output(output, lambda out: write_reports(reports, fmt, out))


def emit_fleet(posture: FleetPosture, fmt: OutputFormat, output: Path | None) -> None:
    """Render a fleet posture to --output or stdout."""
    from vmguard.report.formats import write_fleet

    _to_output(output, lambda out: write_fleet(posture, fmt, out))


def emit_verification(verification: Verification, fmt: OutputFormat, output: Path | None) -> None:
    """Render a verification outcome to --output or stdout."""
    from vmguard.report.formats import write_verification

    _to_output(output, lambda out: write_verification(verification, fmt, out))


def _to_output(output: Path | None, write: Callable[[TextIO], None]) -> None:
    out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        write(out)
    finally:
        if output:
            out.close()


def exit_code_all(reports: Sequence[Report], fail_on: Severity) -> int:
    """1 when a finding of any report reaches --fail-on, else 0."""
    return max((exit_code(r, fail_on) for r in reports), default=EXIT_OK)
