"""``vmguard sanitize IMAGE -o OUT``: a cleaned copy, proven by re-scanning it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vmguard.cli.integrity_options import PassphraseFile
from vmguard.cli.options import (
    AllowDir,
    FailOn,
    ImageFormat,
    Isolated,
    OutputFormatOption,
    Policy,
    follows_references,
)
from vmguard.cli.output import emit, exit_code, fail
from vmguard.cli.progress import byte_bars
from vmguard.findings import Severity
from vmguard.inspection import ImageOptions
from vmguard.integrity.keys import read_passphrase
from vmguard.policy import load_policy
from vmguard.report.interface import OutputFormat
from vmguard.sanitize.catalogue import OPERATIONS, operations_listed
from vmguard.sanitize.workcopy import OUTPUT_FORMATS
from vmguard.scanning import MiB, ScanOptions


def _list_operations() -> None:
    width = max(len(o.name) for o in OPERATIONS)
    for operation in OPERATIONS:
        typer.echo(f"{operation.name:<{width}}  {operation.title}")
    typer.echo(f"{'zero-free-space':<{width}}  Free space zeroed (--no-zero-free-space to skip)")


def sanitize_command(
    image: Annotated[Path | None, typer.Argument(help="Disk image to sanitize.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the sanitized image here.")
    ] = None,
    list_operations: Annotated[
        bool, typer.Option("--list", help="List the operations and exit.")
    ] = False,
    operations: Annotated[
        str | None,
        typer.Option("--operations", help="Comma-separated operations to run (default: all)."),
    ] = None,
    keep: Annotated[
        list[str] | None, typer.Option("--keep", help="Guest path to leave untouched (repeatable).")
    ] = None,
    zero_free_space: Annotated[
        bool,
        typer.Option(
            "--zero-free-space/--no-zero-free-space", help="Zero every filesystem's free space."
        ),
    ] = True,
    out_format: Annotated[
        str,
        typer.Option(
            "--out-format",
            help=f"Format of the written image: {', '.join(OUTPUT_FORMATS)} or input.",
        ),
    ] = "qcow2",
    in_place: Annotated[
        bool, typer.Option("--in-place", help="Replace IMAGE itself (only when asked).")
    ] = False,
    isolated: Isolated = False,
    image_format: ImageFormat = None,
    allow_dir: AllowDir = None,
    output_format: OutputFormatOption = OutputFormat.CONSOLE,
    output: Annotated[Path | None, typer.Option("--output", help="Write the report here.")] = None,
    fail_on: FailOn = Severity.HIGH,
    policy: Policy = None,
    workers: Annotated[
        int, typer.Option("--workers", help="Worker processes for the scans (0: one per CPU).")
    ] = 0,
    sign: Annotated[
        Path | None, typer.Option("--sign", help="Sign the sanitized image with this PEM key.")
    ] = None,
    sig: Annotated[
        Path | None, typer.Option("--sig", help="Signature file to write (with --sign).")
    ] = None,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Write a sanitized copy of an image and prove it clean by re-scanning the copy."""
    if list_operations:
        _list_operations()
        raise typer.Exit(0)
    if image is None or not image.is_file():
        fail(f"{image or 'IMAGE'}: no such image file")
    if in_place == (out is not None):
        fail("give either -o OUT or --in-place")
    target = image if in_place else out
    assert target is not None
    if not in_place and target.exists() and target.resolve() == image.resolve():
        fail(f"{target}: the output would overwrite the input (use --in-place to mean it)")
    if (sign is None) != (sig is None):
        fail("--sign and --sig go together")
    try:
        chosen = operations_listed(operations)
    except ValueError as err:
        fail(str(err))
    if out_format != "input" and out_format not in OUTPUT_FORMATS:
        fail(f"--out-format {out_format!r}: use {', '.join(OUTPUT_FORMATS)} or input")
    from vmguard.sanitize.pipeline import SanitizeOptions, sanitize_image

    signing_key = None
    if sign is not None:
        from vmguard.integrity.keys import load_signing_key

        signing_key = load_signing_key(sign, read_passphrase(passphrase_file))
    image_options = ImageOptions(forced_format=image_format, allowed_dirs=tuple(allow_dir or ()))
    options = SanitizeOptions(
        operations=chosen,
        image=image_options,
        isolated=not follows_references(isolated, allow_dir),
        keep=tuple(keep or ()),
        zero_free_space=zero_free_space,
        out_format=out_format,
        scan=ScanOptions(max_file_bytes=256 * MiB, workers=workers),
        policy=load_policy(policy),
    )
    with byte_bars() as bar:
        report = sanitize_image(image, target, options, bar)
    if signing_key is not None and sig is not None:
        from vmguard.integrity.sign import SignOptions, build_manifest, sign_manifest

        manifest = build_manifest([target], SignOptions())
        sig.write_bytes(sign_manifest(manifest, signing_key))
    emit(report, output_format, output)
    raise typer.Exit(exit_code(report, fail_on))
