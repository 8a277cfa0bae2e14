"""``vmguard vulns IMAGE``: installed packages matched against the advisory index."""

from __future__ import annotations

import typer

from vmguard.cli.advisory_options import (
    BLOCK_DEFAULT_ADVISORIES,
    AdvisoryChoice,
    with_advisory_options,
)
from vmguard.cli.db_cmd import warn_if_stale
from vmguard.cli.option_blocks import BLOCK_DEFAULT_IMAGES, ImageChoice, with_image_options
from vmguard.cli.options import FailOn, ImageArgument, Output, OutputFormatOption
from vmguard.cli.output import emit, exit_code, fail
from vmguard.findings import Severity
from vmguard.inspection import inspect_image
from vmguard.report.interface import OutputFormat
from vmguard.vulns.database import open_default_index
from vmguard.vulns.findings import with_vulnerabilities
from vmguard.vulns.freshness import advisory_age


@with_image_options
@with_advisory_options
def vulns_command(
    image: ImageArgument,
    advisories: AdvisoryChoice = BLOCK_DEFAULT_ADVISORIES,
    output_format: OutputFormatOption = OutputFormat.CONSOLE,
    output: Output = None,
    opening: ImageChoice = BLOCK_DEFAULT_IMAGES,
    fail_on: FailOn = Severity.HIGH,
) -> None:
    """List the image's packages that imported advisories say are vulnerable."""
    if not image.is_file():
        fail(f"{image}: no such image file")
    options = opening.options()
    # The index first: a missing index fails before any work.
    with open_default_index(advisories.location) as index:
        age = advisory_age(index, advisories.max_db_age)
        report = with_vulnerabilities(inspect_image(image, options, applications=True), index, age)
    emit(report, output_format, output)
    warn_if_stale(age)
    raise typer.Exit(exit_code(report, fail_on))
