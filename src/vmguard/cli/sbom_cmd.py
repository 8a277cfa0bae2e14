"""``vmguard sbom IMAGE --format cyclonedx|spdx [--vulns] [-o FILE]``."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated, assert_never

import typer

from vmguard.cli.advisory_options import (
    BLOCK_DEFAULT_ADVISORIES,
    AdvisoryChoice,
    with_advisory_options,
)
from vmguard.cli.db_cmd import warn_if_stale
from vmguard.cli.option_blocks import BLOCK_DEFAULT_IMAGES, ImageChoice, with_image_options
from vmguard.cli.options import ImageArgument, Output
from vmguard.cli.output import fail
from vmguard.inspection import inspect_image
from vmguard.text import printable
from vmguard.vulns.database import open_default_index
from vmguard.vulns.freshness import advisory_age
from vmguard.vulns.matching import find_vulnerabilities
from vmguard.vulns.sbom_cyclonedx import write_cyclonedx
from vmguard.vulns.sbom_spdx import write_spdx


class SbomFormat(StrEnum):
    """SBOM formats."""

    CYCLONEDX = "cyclonedx"
    SPDX = "spdx"


@with_image_options
@with_advisory_options
def sbom_command(
    image: ImageArgument,
    sbom_format: Annotated[
        SbomFormat, typer.Option("--format", help="SBOM format.", case_sensitive=False)
    ] = SbomFormat.CYCLONEDX,
    vulns: Annotated[
        bool, typer.Option("--vulns", help="Add a CycloneDX vulnerability (VEX) section.")
    ] = False,
    advisories: AdvisoryChoice = BLOCK_DEFAULT_ADVISORIES,
    output: Output = None,
    opening: ImageChoice = BLOCK_DEFAULT_IMAGES,
) -> None:
    """Write a software bill of materials (CycloneDX 1.6 or SPDX 2.3 JSON) of an image."""
    if not image.is_file():
        fail(f"{image}: no such image file")
    if vulns and sbom_format is not SbomFormat.CYCLONEDX:
        fail("--vulns needs --format cyclonedx (SPDX 2.3 has no vulnerability section)")
    options = opening.options()
    index = open_default_index(advisories.location) if vulns else None
    age = advisory_age(index, advisories.max_db_age) if index is not None else None
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
