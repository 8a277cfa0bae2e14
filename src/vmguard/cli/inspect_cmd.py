"""``vmguard inspect IMAGE``: format, chain, partitions, filesystems, OS facts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vmguard.cli.options import (
    AllowDir,
    FailOn,
    ImageFormat,
    Isolated,
    Output,
    OutputFormatOption,
    follows_references,
)
from vmguard.cli.output import emit, exit_code, fail
from vmguard.cli.volume_keys import KeyFile, PassphraseFile, volume_secrets
from vmguard.findings import Severity
from vmguard.inspection import ImageOptions, inspect_image
from vmguard.report.interface import OutputFormat


def inspect_command(
    image: Annotated[Path, typer.Argument(help="Disk image: qcow2, raw, VMDK, VHD, VHDX or OVA.")],
    output_format: OutputFormatOption = OutputFormat.CONSOLE,
    output: Output = None,
    image_format: ImageFormat = None,
    allow_dir: AllowDir = None,
    key_file: KeyFile = None,
    passphrase_file: PassphraseFile = None,
    isolated: Isolated = False,
    fail_on: FailOn = Severity.HIGH,
) -> None:
    """Describe an image: format, backing chain, partitions, filesystems, OS, users, packages."""
    if not image.is_file():
        fail(f"{image}: no such image file")
    options = ImageOptions(
        forced_format=image_format,
        allowed_dirs=tuple(allow_dir or ()),
        secrets=volume_secrets(key_file, passphrase_file),
        follow_references=follows_references(isolated, allow_dir),
    )
    report = inspect_image(image, options)
    emit(report, output_format, output)
    raise typer.Exit(exit_code(report, fail_on))
