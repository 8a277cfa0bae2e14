"""The ``vmguard`` command: argument parsing and rendering only.

Library errors become one line on stderr starting with ``vmguard: error:`` and exit code 2;
nothing reaches the user as a traceback (set VMGUARD_DEBUG=1 to see one).
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from vmguard import __version__
from vmguard.allocator import keep_freed_memory
from vmguard.cli.output import EXIT_USAGE, fail
from vmguard.errors import VmguardError, one_line

# name -> (module, attribute, is a sub-app). Listed in --help order. Only the command being
# run is imported: one command's start-up does not pay for every other command's libraries.
COMMANDS: dict[str, tuple[str, str, bool]] = {
    "inspect": ("vmguard.cli.inspect_cmd", "inspect_command", False),
    "audit": ("vmguard.cli.audit_cmd", "audit_command", False),
    "scan": ("vmguard.cli.scan_cmd", "scan_command", False),
    "sanitize": ("vmguard.cli.sanitize_cmd", "sanitize_command", False),
    "demo": ("vmguard.cli.demo_cmd", "demo_command", False),
    "keygen": ("vmguard.cli.keygen_cmd", "keygen_command", False),
    "sign": ("vmguard.cli.sign_cmd", "sign_command", False),
    "verify": ("vmguard.cli.verify_cmd", "verify_command", False),
    "gate": ("vmguard.cli.gate_cmd", "gate_app", True),
    "db": ("vmguard.cli.db_cmd", "db_app", True),
    "host": ("vmguard.cli.host_cmd", "host_app", True),
    "fleet": ("vmguard.cli.fleet_cmd", "fleet_app", True),
    "vulns": ("vmguard.cli.vulns_cmd", "vulns_command", False),
    "sbom": ("vmguard.cli.sbom_cmd", "sbom_command", False),
    "rules": ("vmguard.cli.rules_cmd", "rules_command", False),
}


def build_app(only: str | None = None) -> typer.Typer:
    """The typer application with every command, or with ``only`` that one."""
    app = typer.Typer(
        name="vmguard",
        help="Secure virtual machine images and the environments that run them, offline.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for name, (module, attribute, group) in COMMANDS.items():
        if only is not None and name != only:
            continue
        target = getattr(importlib.import_module(module), attribute)
        if group:
            app.add_typer(target, name=name)
        else:
            app.command(name)(target)
    app.callback()(_main)
    return app


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vmguard {__version__}")
        raise typer.Exit()


def _main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Secure virtual machine images and the environments that run them, offline."""


def run() -> None:
    """Console-script entry point."""
    keep_freed_memory()
    wanted = sys.argv[1] if len(sys.argv) > 1 else None
    try:
        code = build_app(wanted if wanted in COMMANDS else None)(standalone_mode=False)
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
    except OSError as err:  # a host path the user gave that the OS cannot use
        name = err.filename
        where = f"{os.fsdecode(name) if isinstance(name, str | bytes) else name}: " if name else ""
        fail(one_line(f"{where}{err.strerror or type(err).__name__}"))
    except Exception as err:  # the promise: never a traceback
        if os.environ.get("VMGUARD_DEBUG"):
            raise
        fail(f"internal error ({type(err).__name__}): {' '.join(str(err).split())[:300]}")
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["COMMANDS", "EXIT_USAGE", "build_app", "run"]
