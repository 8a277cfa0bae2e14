"""``vmguard verify BUNDLE... --sig SIG``: exit 0 valid, 1 modified or untrusted, 2 unusable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vmguard.cli.integrity_options import (
    MinVersion,
    NotBefore,
    PubKeys,
    TrustDirs,
    parse_time,
)
from vmguard.cli.options import (
    AllowDir,
    ImageFormat,
    Isolated,
    Output,
    OutputFormatOption,
    follows_references,
)
from vmguard.cli.output import EXIT_FINDINGS, EXIT_OK, emit, fail
from vmguard.cli.progress import byte_bars
from vmguard.integrity.envelope import read_envelope
from vmguard.integrity.errors import BundleModified, VerificationFailed
from vmguard.integrity.report import failure_report, success_report
from vmguard.integrity.trust import load_trust
from vmguard.integrity.verify import VerifiedBundle, VerifyOptions, verify_bundle
from vmguard.report.interface import OutputFormat


def _printable(value: object) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in str(value))


def render_valid(result: VerifiedBundle) -> None:
    """Console lines for a valid bundle."""
    m = result.manifest
    typer.echo(
        f"VALID: {len(m.disks)} disk(s), {len(m.definitions)} definition(s); manifest version "
        f"{m.version} signed {m.signed_at.isoformat()} by {_printable(result.signer.origin)} "
        f"(key {result.signer.keyid[:16]})"
    )
    for note in result.notes:
        typer.echo(f"  note: {_printable(note)}")


def render_invalid(error: VerificationFailed) -> None:
    """Console lines saying what changed."""
    typer.echo(f"INVALID: {_printable(error.diagnostics())}")
    if not isinstance(error, BundleModified):
        return
    for change in error.changes:
        typer.echo(
            f"  {change.kind.value} {_printable(change.path or change.name)}: "
            f"{_printable(change.reason)}"
        )
        for r in change.ranges[:20]:
            typer.echo(f"    changed bytes 0x{r.start:x}-0x{r.end:x} ({r.end - r.start} bytes)")
        if len(change.ranges) > 20:
            typer.echo(f"    ... and {len(change.ranges) - 20} more ranges")
        for region in change.regions:
            typer.echo(f"    in {_printable(region)}")
        for hit in change.guest_files:
            typer.echo(f"    guest file {_printable(hit.path)}")
        if change.more_files:
            typer.echo(f"    ... and {change.more_files} more guest files")


def verify_command(
    bundle: Annotated[list[Path], typer.Argument(help="The bundle's disk images and definitions.")],
    sig: Annotated[Path, typer.Option("--sig", "-s", help="Signature (DSSE envelope) file.")],
    pubkey: PubKeys = None,
    trust: TrustDirs = None,
    not_before: NotBefore = None,
    min_version: MinVersion = None,
    exact: Annotated[
        bool,
        typer.Option("--exact", help="Require the container files, not only guest content."),
    ] = False,
    output_format: OutputFormatOption = OutputFormat.CONSOLE,
    output: Output = None,
    image_format: ImageFormat = None,
    allow_dir: AllowDir = None,
    isolated: Isolated = False,
) -> None:
    """Verify a bundle against its signature and say what changed."""
    if not pubkey and not trust:
        fail("give --pubkey or --trust: whom to trust")
    store = load_trust(pubkey or (), trust or ())
    envelope = read_envelope(sig, "signature")
    options = VerifyOptions(
        not_before=parse_time(not_before),
        min_version=min_version,
        exact=exact,
        forced_format=image_format,
        allowed_dirs=tuple(allow_dir or ()),
        follow_references=follows_references(isolated, allow_dir),
    )
    target = " ".join(str(p) for p in bundle)
    try:
        with byte_bars() as bar:
            result = verify_bundle(bundle, envelope, store, options, progress=bar)
    except VerificationFailed as error:
        if output_format is OutputFormat.CONSOLE and output is None:
            render_invalid(error)
        else:
            emit(failure_report(target, error), output_format, output)
        raise typer.Exit(EXIT_FINDINGS) from None
    if output_format is OutputFormat.CONSOLE and output is None:
        render_valid(result)
    else:
        emit(success_report(target), output_format, output)
    raise typer.Exit(EXIT_OK)
