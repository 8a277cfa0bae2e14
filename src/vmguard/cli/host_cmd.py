"""``vmguard host [--root DIR]``, ``vmguard host baseline`` and ``vmguard host verify``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vmguard.cli.integrity_options import PassphraseFile, PubKeys, TrustDirs
from vmguard.cli.options import FailOn, Output, OutputFormatOption, Policy
from vmguard.cli.output import EXIT_FINDINGS, EXIT_OK, emit, exit_code, fail
from vmguard.cli.profile_option import ProfileOption, chosen_profile
from vmguard.findings import Severity
from vmguard.host.audit import audit_host
from vmguard.host.baseline import (
    build_baseline,
    sign_baseline,
    signature_invalid_report,
    verify_host,
)
from vmguard.host.root import HostRoot
from vmguard.integrity.envelope import read_envelope
from vmguard.integrity.errors import SignatureInvalid
from vmguard.integrity.keys import load_signing_key, read_passphrase
from vmguard.integrity.trust import load_trust
from vmguard.policy import apply_policy, load_policy
from vmguard.report.interface import OutputFormat

Root = Annotated[
    Path,
    typer.Option("--root", help="Audit an offline copy of a host's root (default: this host)."),
]

host_app = typer.Typer(
    help="Audit the hypervisor host; sign and verify a baseline of the hypervisor's files.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _root(path: Path) -> HostRoot:
    if not path.is_dir():
        fail(f"{path}: not a directory (give the host's root directory)")
    return HostRoot(path)


@host_app.callback()
def host_command(
    ctx: typer.Context,
    root: Root = Path("/"),
    policy: Policy = None,
    profile: ProfileOption = None,
    output_format: OutputFormatOption = OutputFormat.CONSOLE,
    output: Output = None,
    fail_on: FailOn = Severity.HIGH,
) -> None:
    """Audit QEMU/libvirt configuration, disk image permissions, side channels, MAC
    confinement and the hypervisor packages' file digests."""
    if ctx.invoked_subcommand is not None:
        return
    rules_policy = load_policy(policy)
    guide = chosen_profile(profile)
    _root(root)
    report = apply_policy(audit_host(root, guide), rules_policy)
    emit(report, output_format, output)
    raise typer.Exit(exit_code(report, fail_on))


@host_app.command("baseline")
def baseline_command(
    key: Annotated[Path, typer.Option("--key", "-k", help="PEM private key (vmguard keygen).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Signed baseline to write.")],
    root: Root = Path("/"),
    passphrase_file: PassphraseFile = None,
) -> None:
    """Record and sign the hypervisor's binaries, modules, firmware and configuration."""
    host = _root(root)
    signing_key = load_signing_key(key, read_passphrase(passphrase_file))
    if output.exists() or output.is_symlink():
        fail(f"{output} exists; not overwriting a baseline")
    baseline = build_baseline(host)
    envelope = sign_baseline(baseline, signing_key)
    try:
        output.write_bytes(envelope)
    except OSError as err:
        fail(f"{output}: cannot write the baseline: {err.strerror}")
    typer.echo(
        f"recorded {len(baseline.entries)} hypervisor entries of {baseline.root} "
        f"({len(baseline.directories)} directories) with key "
        f"{signing_key.public.keyid[:16]} -> {output}"
    )


@host_app.command("verify")
def verify_command(
    sig: Annotated[Path, typer.Option("--sig", "-s", help="Signed baseline (host baseline).")],
    root: Root = Path("/"),
    pubkey: PubKeys = None,
    trust: TrustDirs = None,
    policy: Policy = None,
    output_format: OutputFormatOption = OutputFormat.CONSOLE,
    output: Output = None,
) -> None:
    """Compare the host with a signed baseline: exit 1 and name every change."""
    if not pubkey and not trust:
        fail("give --pubkey or --trust: whom to trust")
    host = _root(root)
    store = load_trust(pubkey or (), trust or ())
    rules_policy = load_policy(policy)
    envelope = read_envelope(sig, "baseline")
    try:
        report = apply_policy(verify_host(host, envelope, store).report, rules_policy)
    except SignatureInvalid as error:
        emit(signature_invalid_report(str(root), error), output_format, output)
        raise typer.Exit(EXIT_FINDINGS) from None
    emit(report, output_format, output)
    raise typer.Exit(EXIT_FINDINGS if report.worst() is not None else EXIT_OK)
