"""The one table that chooses a writer: output format -> how each kind of result is written.

Every command's output goes through here. A result is one of three kinds:
- reports (``scan``, ``audit``, ``host``, ``inspect``, ``vulns``, ``sbom``, ``sanitize``...):
  one report is written exactly as its format's writer writes it (the DESIGN contract);
  several as the format combines them (``report.multi``, ``*_reports`` writers);
- a fleet posture (``fleet report``): its own console, JSON and HTML documents; in SARIF and
  JUnit one report per image (``report.fleet_reports``) through the report writers;
- a verification (``verify``): a verdict on the console, its report in every other format.

Public API: ``WRITERS`` (rows of ``Writers``), ``write_reports``, ``write_fleet``,
``write_verification``. Adding a format is one row of ``WRITERS``; the CLI never chooses a
writer itself. Writers are named (``Lazy``) and imported when output in their format is due:
``verify`` on a console loads neither rich nor the SARIF writer's rule catalogue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any, TextIO

from vmguard.findings import Report
from vmguard.report.interface import (
    FleetWriter,
    OutputFormat,
    ReportsWriter,
    ReportWriter,
    VerificationWriter,
)

if TYPE_CHECKING:
    from vmguard.fleet.posture import FleetPosture
    from vmguard.report.verification import Verification


@dataclass(frozen=True, slots=True)
class Writers:
    """How one output format writes each kind of result."""

    reports: ReportsWriter
    fleet: FleetWriter
    verification: VerificationWriter


@dataclass(frozen=True, slots=True)
class Lazy:
    """The writer ``name`` of ``vmguard.report.MODULE``, imported when it is first called:
    ``verify`` on a console must not pay for the SARIF writer's rule catalogue."""

    module: str
    name: str

    def resolve(self) -> Any:
        """The writer function itself."""
        return getattr(import_module(f"vmguard.report.{self.module}"), self.name)

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.resolve()(*args, **kwargs)


@dataclass(frozen=True, slots=True)
class OneOrSeveral:
    """A format's reports writer: one report exactly as ``one`` writes it (the contract),
    several as ``several`` combines them."""

    one: ReportWriter
    several: ReportsWriter

    def __call__(self, reports: Sequence[Report], out: TextIO) -> None:
        if len(reports) == 1:
            self.one(reports[0], out)
        else:
            self.several(reports, out)


def _fleet_as_reports(write: ReportsWriter) -> FleetWriter:
    def write_fleet(posture: FleetPosture, out: TextIO) -> None:
        from vmguard.report.fleet_reports import posture_reports

        write(posture_reports(posture), out)

    return write_fleet


def _verification_as_report(write: ReportsWriter) -> VerificationWriter:
    def write_verification(verification: Verification, out: TextIO) -> None:
        write([verification.report()], out)

    return write_verification


def _row(
    one: Lazy,
    several: Lazy,
    fleet: FleetWriter | None = None,
    verification: VerificationWriter | None = None,
) -> Writers:
    reports = OneOrSeveral(one, several)
    return Writers(
        reports,
        fleet or _fleet_as_reports(reports),
        verification or _verification_as_report(reports),
    )


WRITERS: dict[OutputFormat, Writers] = {
    OutputFormat.CONSOLE: _row(
        Lazy("console", "write_console"),
        Lazy("multi", "write_console_reports"),  # one after another
        Lazy("fleet_console", "write_posture_console"),
        Lazy("verification", "write_verification_console"),  # the verdict, not a report
    ),
    OutputFormat.JSON: _row(
        Lazy("json_writer", "write_json"),
        Lazy("multi", "write_json_reports"),  # one document, a summary over all
        Lazy("fleet_json", "write_posture_json"),
    ),
    OutputFormat.SARIF: _row(
        Lazy("sarif", "write_sarif"),
        Lazy("sarif", "write_sarif_reports"),  # one run: what GitHub code scanning takes
    ),
    OutputFormat.HTML: _row(
        Lazy("html", "write_html"),
        Lazy("html", "write_html_reports"),  # one page, a section per report
        Lazy("fleet_html", "write_posture_html"),
    ),
    OutputFormat.JUNIT: _row(
        Lazy("junit", "write_junit"),
        Lazy("junit", "write_junit_reports"),  # a testsuite per report
    ),
}
"""Every output format: a row each. A fleet in SARIF or JUnit is one report per image; a
verification outside the console is its report."""


def write_reports(reports: Sequence[Report], fmt: OutputFormat, out: TextIO) -> None:
    """One report as its format's contract, several as the format combines them."""
    WRITERS[fmt].reports(reports, out)


def write_fleet(posture: FleetPosture, fmt: OutputFormat, out: TextIO) -> None:
    """A fleet posture in ``fmt``."""
    WRITERS[fmt].fleet(posture, out)


def write_verification(verification: Verification, fmt: OutputFormat, out: TextIO) -> None:
    """A verification outcome in ``fmt``."""
    WRITERS[fmt].verification(verification, out)
