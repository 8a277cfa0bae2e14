"""The ``vmguard`` command: argument parsing and rendering only.

Library errors become one line on stderr starting with ``vmguard: error:`` and exit code 2;
nothing reaches the user as a traceback (set VMGUARD_DEBUG=1 to see one).
"""

from __future__ import annotations

import os
import sys

import typer

from vmguard import __version__
from vmguard.cli.audit_cmd import audit_command
from vmguard.cli.db_cmd import db_app
from vmguard.cli.demo_cmd import demo_command
from vmguard.cli.fleet_cmd import fleet_app
from vmguard.cli.gate_cmd import gate_app
from vmguard.cli.host_cmd import host_app
from vmguard.cli.inspect_cmd import inspect_command
from vmguard.cli.keygen_cmd import keygen_command
from vmguard.cli.output import EXIT_USAGE, fail
from vmguard.cli.sbom_cmd import sbom_command
from vmguard.cli.scan_cmd import scan_command
from vmguard.cli.sign_cmd import sign_command
from vmguard.cli.verify_cmd import verify_command
from vmguard.cli.vulns_cmd import vulns_command
from vmguard.errors import VmguardError

app = typer.Typer(
    name="vmguard",
    help="Secure virtual machine images and the environments that run them, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("inspect")(inspect_command)
app.command("audit")(audit_command)
app.command("scan")(scan_command)
app.command("demo")(demo_command)
app.command("keygen")(keygen_command)
app.command("sign")(sign_command)
app.command("verify")(verify_command)
app.add_typer(gate_app, name="gate")
app.add_typer(db_app, name="db")
app.add_typer(host_app, name="host")
app.add_typer(fleet_app, name="fleet")
app.command("vulns")(vulns_command)
app.command("sbom")(sbom_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vmguard {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Secure virtual machine images and the environments that run them, offline."""


def run() -> None:
    """Console-script entry point."""
    try:
        code = app(standalone_mode=False)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except VmguardError as err:
        fail(err.diagnostics())
    except typer.Abort:
        fail("aborted")
    except typer.TyperException as err:
        format_message = getattr(err, "format_message", None)
        fail(format_message() if callable(format_message) else str(err))
    except KeyboardInterrupt:
        fail("interrupted")
    except Exception as err:  # the promise: never a traceback
        if os.environ.get("VMGUARD_DEBUG"):
            raise
        fail(f"internal error ({type(err).__name__}): {' '.join(str(err).split())[:300]}")
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["EXIT_USAGE", "app", "run"]
