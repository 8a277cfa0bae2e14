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
from vmguard.cli.output import EXIT_FINDINGS, EXIT_OK, emit_verification, fail
from vmguard.cli.progress import byte_bars
from vmguard.integrity.envelope import read_envelope
from vmguard.integrity.errors import VerificationFailed
from vmguard.integrity.trust import load_trust
from vmguard.integrity.verify import VerifiedBundle, VerifyOptions, verify_bundle
from vmguard.report.interface import OutputFormat
from vmguard.report.verification import Verification


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
            outcome: VerifiedBundle | VerificationFailed = verify_bundle(
                bundle, envelope, store, options, progress=bar
            )
    except VerificationFailed as error:
        outcome = error
    emit_verification(Verification(target, outcome), output_format, output)
    raise typer.Exit(EXIT_OK if isinstance(outcome, VerifiedBundle) else EXIT_FINDINGS)
