"""The protocol every report writer implements, and the format enum the CLI offers."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol, TextIO

from vmguard.findings import Report


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
