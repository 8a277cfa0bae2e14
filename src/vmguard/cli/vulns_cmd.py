"""``vmguard vulns IMAGE``: installed packages matched against the advisory index."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vmguard.cli.db_cmd import DbOption, warn_if_stale
from vmguard.cli.options import (
    AllowDir,
    FailOn,
    ImageFormat,
    Isolated,
    MaxDbAge,
    Output,
    OutputFormatOption,
    follows_references,
)
from vmguard.cli.output import emit, exit_code, fail
from vmguard.cli.volume_keys import KeyFile, PassphraseFile, volume_secrets
from vmguard.findings import Severity
from vmguard.inspection import ImageOptions, inspect_image
from vmguard.report.interface import OutputFormat
from vmguard.vulns.database import open_default_index
from vmguard.vulns.findings import with_vulnerabilities
from vmguard.vulns.freshness import DEFAULT_MAX_AGE_DAYS, advisory_age


def vulns_command(
    image: Annotated[Path, typer.Argument(help="Disk image: qcow2, raw, VMDK, VHD, VHDX or OVA.")],
    db: DbOption = None,
    output_format: OutputFormatOption = OutputFormat.CONSOLE,
    output: Output = None,
    image_format: ImageFormat = None,
    allow_dir: AllowDir = None,
    key_file: KeyFile = None,
    passphrase_file: PassphraseFile = None,
    isolated: Isolated = False,
    fail_on: FailOn = Severity.HIGH,
    max_db_age: MaxDbAge = DEFAULT_MAX_AGE_DAYS,
) -> None:
    """List the image's packages that imported advisories say are vulnerable."""
    if not image.is_file():
        fail(f"{image}: no such image file")
    options = ImageOptions(
        forced_format=image_format,
        allowed_dirs=tuple(allow_dir or ()),
        secrets=volume_secrets(key_file, passphrase_file),
        follow_references=follows_references(isolated, allow_dir),
    )
    with open_default_index(db) as index:  # first: a missing index fails before any work
        age = advisory_age(index, max_db_age)
        report = with_vulnerabilities(inspect_image(image, options, applications=True), index, age)
    emit(report, output_format, output)
    warn_if_stale(age)
    raise typer.Exit(exit_code(report, fail_on))
