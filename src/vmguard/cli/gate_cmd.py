"""``vmguard gate install|uninstall|check``: the libvirt launch gate.

``check`` is what the installed hook runs: it reads the domain XML on stdin and exits
non-zero with one ``vmguard: error:`` line (which libvirt shows in its start error) when
the domain must not start.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from vmguard.cli.integrity_options import NotBefore, TrustDirs, parse_time
from vmguard.cli.options import AllowDir
from vmguard.cli.output import EXIT_FINDINGS, fail
from vmguard.integrity.domain import MAX_DOMAIN_XML
from vmguard.integrity.errors import VerificationFailed
from vmguard.integrity.gate import (
    DEFAULT_HOOK,
    DEFAULT_SIGNATURES,
    GateConfig,
    check_domain,
    install,
    uninstall,
)
from vmguard.integrity.trust import load_trust
from vmguard.integrity.verify import VerifyOptions
from vmguard.text import printable

gate_app = typer.Typer(
    help="A libvirt qemu hook that refuses to start unsigned or modified VMs.",
    no_args_is_help=True,
)

HookPath = Annotated[
    Path, typer.Option("--hook", help="Hook file (libvirt reads /etc/libvirt/hooks/qemu).")
]
Signatures = Annotated[
    Path, typer.Option("--signatures", help="Directory of NAME.dsse.json domain signatures.")
]


@gate_app.command("install")
def install_command(
    trust: TrustDirs = None,
    signatures: Signatures = DEFAULT_SIGNATURES,
    hook: HookPath = DEFAULT_HOOK,
    allow_dir: AllowDir = None,
) -> None:
    """Install the hook, keeping (and still running) any hook already there."""
    if not trust:
        fail("give --trust DIR: the public keys or CAs allowed to sign domains")
    load_trust((), trust)  # refuse to install a gate nothing could pass
    config = GateConfig(tuple(trust), signatures, tuple(allow_dir or ()))
    done = install(config, hook)
    typer.echo(f"installed the launch gate at {done.hook}")
    if done.chained is not None:
        typer.echo(f"the previous hook is kept at {done.chained} and runs first")
    typer.echo("restart libvirtd (or virtqemud): libvirt looks for hooks when it starts")


@gate_app.command("uninstall")
def uninstall_command(hook: HookPath = DEFAULT_HOOK) -> None:
    """Remove the hook and restore the one it replaced."""
    uninstall(hook)
    typer.echo(f"removed the launch gate from {hook}")


@gate_app.command("check")
def check_command(
    trust: TrustDirs = None,
    signatures: Signatures = DEFAULT_SIGNATURES,
    domain_name: Annotated[
        str | None, typer.Option("--domain-name", help="Name libvirt passed to the hook.")
    ] = None,
    not_before: NotBefore = None,
    allow_dir: AllowDir = None,
) -> None:
    """Verify the domain XML on stdin; exit 0 to allow the start, non-zero to refuse it."""
    if not trust:
        fail("give --trust DIR")
    xml = sys.stdin.buffer.read(MAX_DOMAIN_XML + 1)
    store = load_trust((), trust)
    options = VerifyOptions(not_before=parse_time(not_before), allowed_dirs=tuple(allow_dir or ()))
    try:
        result = check_domain(xml, store, signatures, options, expected_name=domain_name)
    except VerificationFailed as error:
        sys.stderr.write(f"vmguard: refused: {error.diagnostics()}\n")
        raise typer.Exit(EXIT_FINDINGS) from None
    sys.stderr.write(f"vmguard: allowed: signed by {printable(result.signer.origin)}\n")
