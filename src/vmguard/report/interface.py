"""The writer protocols of ``report``, one per kind of result, and the format enum the CLI
offers. ``report.formats`` holds the one table from a format to its writers."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, TextIO

from vmguard.findings import Report

if TYPE_CHECKING:
    from vmguard.fleet.posture import FleetPosture
    from vmguard.report.verification import Verification


class OutputFormat(StrEnum):
    """Output formats offered on the command line."""

    CONSOLE = "console"
    JSON = "json"
    SARIF = "sarif"
    HTML = "html"
    JUNIT = "junit"


class ReportWriter(Protocol):
    """Renders a report to a text stream."""

    def __call__(self, report: Report, out: TextIO) -> None: ...


class ReportsWriter(Protocol):
    """Renders one report as its format's contract, or several as the format combines them."""

    def __call__(self, reports: Sequence[Report], out: TextIO) -> None: ...


class FleetWriter(Protocol):
    """Renders a fleet posture (``fleet report``)."""

    def __call__(self, posture: FleetPosture, out: TextIO) -> None: ...


class VerificationWriter(Protocol):
    """Renders a verification outcome (``verify``)."""

    def __call__(self, verification: Verification, out: TextIO) -> None: ...
