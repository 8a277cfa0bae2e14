"""``vmguard scan IMAGE...``: secrets, deleted remnants, malware, weak guest configuration."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from vmguard.cli.advisory_options import (
    BLOCK_DEFAULT_ADVISORIES,
    AdvisoryChoice,
    with_advisory_options,
)
from vmguard.cli.db_cmd import warn_if_stale
from vmguard.cli.option_blocks import BLOCK_DEFAULT_IMAGES, ImageChoice, with_image_options
from vmguard.cli.options import FailOn, Output, OutputFormatOption, Policy
from vmguard.cli.output import emit_all, exit_code_all, fail
from vmguard.cli.progress import ByteBar, byte_bars
from vmguard.findings import Severity
from vmguard.policy import apply_policy, load_policy
from vmguard.report.interface import OutputFormat
from vmguard.scanning import MiB, ScanOptions, scan_image
from vmguard.vulns.database import open_default_index
from vmguard.vulns.findings import with_vulnerabilities
from vmguard.vulns.freshness import advisory_age


@with_image_options
@with_advisory_options
def scan_command(
    images: Annotated[list[Path], typer.Argument(help="Disk images to scan.")],
    deleted: Annotated[
        bool, typer.Option("--deleted", help="Also scan unallocated space for remnants.")
    ] = False,
    yara_rules: Annotated[
        list[Path] | None, typer.Option("--yara-rules", help="Directory of YARA rules to add.")
    ] = None,
    max_file_size: Annotated[
        int, typer.Option("--max-file-size", help="MiB scanned per file (rest listed in errors).")
    ] = 256,
    workers: Annotated[
        int, typer.Option("--workers", help="Worker processes (0: one per CPU).")
    ] = 0,
    output_format: OutputFormatOption = OutputFormat.CONSOLE,
    output: Output = None,
    opening: ImageChoice = BLOCK_DEFAULT_IMAGES,
    fail_on: FailOn = Severity.HIGH,
    policy: Policy = None,
    vulns: Annotated[
        bool, typer.Option("--vulns", help="Also match packages against the advisory index.")
    ] = False,
    advisories: AdvisoryChoice = BLOCK_DEFAULT_ADVISORIES,
) -> None:
    """Find what images leak and carry: secrets, deleted keys, malware, weak configuration."""
    for image in images:
        if not image.is_file():
            fail(f"{image}: no such image file")
    rules_policy = load_policy(policy)
    options = ScanOptions(
        image=opening.options(),
        yara_dirs=tuple(yara_rules or ()),
        deleted=deleted,
        max_file_bytes=max_file_size * MiB,
        workers=workers,
    )
    reports = []
    # Opened first, so a missing index fails before any image is read.
    index = open_default_index(advisories.location) if vulns else None
    age = advisory_age(index, advisories.max_db_age) if index is not None else None
    for image in images:
        with byte_bars() as bar:
            report = scan_image(image, options, _bar_for(bar, f"scanning {image.name}"))
            if index is not None:
                report = with_vulnerabilities(report, index, age)
            reports.append(apply_policy(report, rules_policy))
    if index is not None:
        index.close()
    emit_all(reports, output_format, output)
    if age is not None:
        warn_if_stale(age)
    raise typer.Exit(exit_code_all(reports, fail_on))


def _bar_for(bar: ByteBar | None, what: str) -> Callable[[int, int], None] | None:
    if bar is None:
        return None
    return lambda done, total: bar(what, done, total)
