"""The one table that chooses a writer: output format -> how each kind of result is written.

Every command's output goes through here. A result is one of three kinds:
- reports (``scan``, ``audit``, ``host``, ``inspect``, ``vulns``, ``sbom``, ``sanitize``...):
  one report is written exactly as its format's writer writes it (the DESIGN contract);
  several as the format combines them (``report.multi``, ``*_reports`` writers);
- a fleet posture (``fleet report``): its own console, JSON and HTML documents; in SARIF and
  JUnit one report per image (``report.fleet_reports``) through the report writers;
- a verification (``verify``): a verdict on the console, its report in every other format.

Public API: ``WRITERS``, ``write_reports``, ``write_fleet``, ``write_verification``. Adding a
format is one row of ``WRITERS``; the CLI never chooses a writer itself. The fleet writers
load SQLAlchemy only when a fleet is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from vmguard.findings import Report
from vmguard.report.console import write_console
from vmguard.report.fleet_console import write_posture_console
from vmguard.report.fleet_html import write_posture_html
from vmguard.report.fleet_json import write_posture_json
from vmguard.report.fleet_reports import posture_reports
from vmguard.report.html import write_html, write_html_reports
from vmguard.report.interface import (
    FleetWriter,
    OutputFormat,
    ReportsWriter,
    ReportWriter,
    VerificationWriter,
)
from vmguard.report.json_writer import write_json
from vmguard.report.junit import write_junit, write_junit_reports
from vmguard.report.multi import write_console_reports, write_json_reports
from vmguard.report.sarif import write_sarif, write_sarif_reports

if TYPE_CHECKING:
    from vmguard.fleet.posture import FleetPosture
    from vmguard.report.verification import Verification


@dataclass(frozen=True, slots=True)
class Writers:
    """How one output format writes each kind of result."""

    reports: ReportsWriter
    fleet: FleetWriter
    verification: VerificationWriter


def _one_or_several(one: ReportWriter, several: ReportsWriter) -> ReportsWriter:
    def write(reports: Sequence[Report], out: TextIO) -> None:
        if len(reports) == 1:
            one(reports[0], out)
        else:
            several(reports, out)

    return write


def _fleet_as_reports(write: ReportsWriter) -> FleetWriter:
    def write_fleet(posture: FleetPosture, out: TextIO) -> None:
        write(posture_reports(posture), out)

    return write_fleet


def _verification_as_report(write: ReportsWriter) -> VerificationWriter:
    def write_verification(verification: Verification, out: TextIO) -> None:
        write([verification.report()], out)

    return write_verification


def _verification_console(verification: Verification, out: TextIO) -> None:
    from vmguard.report.verification import write_verification_console  # loads integrity

    write_verification_console(verification, out)


def _row(
    reports: ReportsWriter,
    fleet: FleetWriter | None = None,
    verification: VerificationWriter | None = None,
) -> Writers:
    return Writers(
        reports,
        fleet or _fleet_as_reports(reports),
        verification or _verification_as_report(reports),
    )


_CONSOLE = _one_or_several(write_console, write_console_reports)
_JSON = _one_or_several(write_json, write_json_reports)

WRITERS: dict[OutputFormat, Writers] = {
    OutputFormat.CONSOLE: _row(_CONSOLE, write_posture_console, _verification_console),
    OutputFormat.JSON: _row(_JSON, write_posture_json),
    # one run with every result: what GitHub code scanning takes
    OutputFormat.SARIF: _row(_one_or_several(write_sarif, write_sarif_reports)),
    # one page, one section per report
    OutputFormat.HTML: _row(_one_or_several(write_html, write_html_reports), write_posture_html),
    # one testsuite per report
    OutputFormat.JUNIT: _row(_one_or_several(write_junit, write_junit_reports)),
}
"""Every output format: a row each (a test checks every ``OutputFormat`` has one)."""


def write_reports(reports: Sequence[Report], fmt: OutputFormat, out: TextIO) -> None:
    """One report as its format's contract, several as the format combines them."""
    WRITERS[fmt].reports(reports, out)


def write_fleet(posture: FleetPosture, fmt: OutputFormat, out: TextIO) -> None:
    """A fleet posture in ``fmt``."""
    WRITERS[fmt].fleet(posture, out)


def write_verification(verification: Verification, fmt: OutputFormat, out: TextIO) -> None:
    """A verification outcome in ``fmt``."""
    WRITERS[fmt].verification(verification, out)
