"""The command registry: every command loads on its own, and --help lists them all."""

from __future__ import annotations

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
