"""``vmguard inspect IMAGE``: format, chain, partitions, filesystems, OS facts."""

from __future__ import annotations

import typer

from vmguard.cli.option_blocks import BLOCK_DEFAULT_IMAGES, ImageChoice, with_image_options
from vmguard.cli.options import FailOn, ImageArgument, Output, OutputFormatOption
from vmguard.cli.output import emit, exit_code, fail
from vmguard.findings import Severity
from vmguard.inspection import inspect_image
from vmguard.report.interface import OutputFormat


@with_image_options
def inspect_command(
    image: ImageArgument,
    output_format: OutputFormatOption = OutputFormat.CONSOLE,
    output: Output = None,
    opening: ImageChoice = BLOCK_DEFAULT_IMAGES,
    fail_on: FailOn = Severity.HIGH,
) -> None:
    """Describe an image: format, backing chain, partitions, filesystems, OS, users, packages."""
    if not image.is_file():
        fail(f"{image}: no such image file")
    report = inspect_image(image, opening.options())
    emit(report, output_format, output)
    raise typer.Exit(exit_code(report, fail_on))
