"""``vmguard sbom IMAGE --format cyclonedx|spdx [--vulns] [-o FILE]``."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, assert_never

import typer

from vmguard.cli.db_cmd import DbOption, warn_if_stale
from vmguard.cli.options import (
    AllowDir,
    ImageFormat,
    Isolated,
    MaxDbAge,
    Output,
    follows_references,
)
from vmguard.cli.output import fail
from vmguard.cli.volume_keys import KeyFile, PassphraseFile, volume_secrets
from vmguard.inspection import ImageOptions, inspect_image
from vmguard.text import printable
from vmguard.vulns.database import open_default_index
from vmguard.vulns.freshness import DEFAULT_MAX_AGE_DAYS, advisory_age
from vmguard.vulns.matching import find_vulnerabilities
from vmguard.vulns.sbom_cyclonedx import write_cyclonedx
from vmguard.vulns.sbom_spdx import write_spdx


class SbomFormat(StrEnum):
    """SBOM formats."""

    CYCLONEDX = "cyclonedx"
    SPDX = "spdx"


def sbom_command(
    image: Annotated[Path, typer.Argument(help="Disk image: qcow2, raw, VMDK, VHD, VHDX or OVA.")],
    sbom_format: Annotated[
        SbomFormat, typer.Option("--format", help="SBOM format.", case_sensitive=False)
    ] = SbomFormat.CYCLONEDX,
    vulns: Annotated[
        bool, typer.Option("--vulns", help="Add a CycloneDX vulnerability (VEX) section.")
    ] = False,
    db: DbOption = None,
    output: Output = None,
    image_format: ImageFormat = None,
    allow_dir: AllowDir = None,
    key_file: KeyFile = None,
    passphrase_file: PassphraseFile = None,
    max_db_age: MaxDbAge = DEFAULT_MAX_AGE_DAYS,
    isolated: Isolated = False,
) -> None:
    """Write a software bill of materials (CycloneDX 1.6 or SPDX 2.3 JSON) of an image."""
    if not image.is_file():
        fail(f"{image}: no such image file")
    if vulns and sbom_format is not SbomFormat.CYCLONEDX:
        fail("--vulns needs --format cyclonedx (SPDX 2.3 has no vulnerability section)")
    options = ImageOptions(
        forced_format=image_format,
        allowed_dirs=tuple(allow_dir or ()),
        secrets=volume_secrets(key_file, passphrase_file),
        follow_references=follows_references(isolated, allow_dir),
    )
    index = open_default_index(db) if vulns else None
    age = advisory_age(index, max_db_age) if index is not None else None
    try:
        report = inspect_image(image, options, applications=True)
        inventory = report.inventory
        if inventory is None or inventory.os is None:
            fail(f"{image}: no operating system found in the image, nothing to list")
        scan = find_vulnerabilities(inventory, index) if index is not None else None
    finally:
        if index is not None:
            index.close()
    match sbom_format:
        case SbomFormat.CYCLONEDX:
            text = write_cyclonedx(inventory, image.name, scan, age)
        case SbomFormat.SPDX:
            text = write_spdx(inventory, image.name)
        case _:
            assert_never(sbom_format)
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    for problem in scan.problems if scan else ():
        sys.stderr.write(f"vmguard: warning: {printable(problem.reason)}\n")
    if age is not None:
        warn_if_stale(age)
