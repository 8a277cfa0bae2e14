"""The command registry: every command loads on its own, and --help lists them all."""

from __future__ import annotations

from pathlib import Path

import pytest

from clirunner import vmguard
from vmguard.cli.main import COMMANDS, build_app


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_builds_alone(name: str) -> None:
    app = build_app(name)
    registered = [c.name for c in app.registered_commands] + [g.name for g in app.registered_groups]
    assert registered == [name]


def test_help_lists_every_command_and_unknown_words_are_usage_errors() -> None:
    listing = vmguard("--help").stdout
    assert all(f" {name} " in listing for name in COMMANDS)
    run = vmguard("frobnicate")
    assert run.code == 2 and run.stderr.startswith("vmguard: error: ")
    assert vmguard("--version").stdout.startswith("vmguard ")


@pytest.mark.parametrize("command", ["inspect", "scan", "audit", "sbom"])
def test_a_path_the_os_refuses_is_one_error_line(command: str, tmp_path: Path) -> None:
    """A name past NAME_MAX (as an upload pipeline might pass on) is not an internal error."""
    run = vmguard(command, tmp_path / ("n" * 300))
    assert run.code == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vmguard: error: "), run.stderr
    assert "internal error" not in lines[0] and "File name too long" in lines[0]
