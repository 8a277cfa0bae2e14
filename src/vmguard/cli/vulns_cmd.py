"""``vmguard vulns IMAGE``: installed packages matched against the advisory index."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from vmguard.cli.db_cmd import DbOption
from vmguard.cli.options import AllowDir, FailOn, ImageFormat, Output, OutputFormatOption
from vmguard.cli.output import emit, exit_code, fail
from vmguard.findings import Report, ReportError, Severity
from vmguard.inspection import ImageOptions, inspect_image
from vmguard.report.interface import OutputFormat
from vmguard.vulns.database import open_default_index
from vmguard.vulns.findings import package_findings
from vmguard.vulns.index import AdvisoryIndex
from vmguard.vulns.matching import find_vulnerabilities


def vulnerability_report(report: Report, index: AdvisoryIndex) -> Report:
    """The inspect report of an image with its vulnerable-software findings added."""
    if report.inventory is None:
        return report
    scan = find_vulnerabilities(report.inventory, index)
    errors = (*report.errors, *(ReportError(report.target.path, p) for p in scan.problems))
    return replace(report, findings=(*report.findings, *package_findings(scan)), errors=errors)


def vulns_command(
    image: Annotated[Path, typer.Argument(help="Disk image: qcow2, raw, VMDK, VHD, VHDX or OVA.")],
    db: DbOption = None,
    output_format: OutputFormatOption = OutputFormat.CONSOLE,
    output: Output = None,
    image_format: ImageFormat = None,
    allow_dir: AllowDir = None,
    fail_on: FailOn = Severity.HIGH,
) -> None:
    """List the image's packages that imported advisories say are vulnerable."""
    if not image.is_file():
        fail(f"{image}: no such image file")
    options = ImageOptions(forced_format=image_format, allowed_dirs=tuple(allow_dir or ()))
    with open_default_index(db) as index:  # first: a missing index fails before any work
        report = vulnerability_report(inspect_image(image, options), index)
    emit(report, output_format, output)
    raise typer.Exit(exit_code(report, fail_on))
