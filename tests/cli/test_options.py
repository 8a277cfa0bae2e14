"""Options declared once in ``cli.options``: the advisory index is --vulns-db everywhere, and
--db (its old spelling outside ``fleet``) still works but is no longer shown."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from clirunner import vmguard
from vulns.osvdata import debian_record, write_all_zip

ADVISORY_COMMANDS = (("scan",), ("vulns",), ("sbom",), ("db", "import"), ("db", "update"),
                     ("db", "status"))  # fmt: skip


@pytest.mark.parametrize("command", ADVISORY_COMMANDS)
def test_help_shows_vulns_db_and_hides_the_old_spelling(command: tuple[str, ...]) -> None:
    run = vmguard(*command, "--help")
    assert run.code == 0, run.stderr
    listed = re.findall(r"^│ (--[a-z-]+)", run.stdout, re.MULTILINE)
    assert "--vulns-db" in listed and "--db" not in listed
    assert "old spelling, is still accepted" in " ".join(run.stdout.replace("│", " ").split())


def test_fleet_db_is_the_fleet_database_and_vulns_db_the_advisories() -> None:
    run = vmguard("fleet", "scan", "--help")
    assert run.code == 0, run.stderr
    assert "--db" in run.stdout and "Results database" in run.stdout
    assert "--vulns-db" in run.stdout and "Advisory index" in run.stdout


def test_old_and_new_spelling_name_the_same_index(tmp_path: Path) -> None:
    archive = write_all_zip(tmp_path / "all.zip", [debian_record("DSA-9001-1", "glibc", "2.36")])
    db = tmp_path / "vulns.sqlite"
    assert vmguard("db", "import", archive, "--vulns-db", db).code == 0
    new = vmguard("db", "status", "--vulns-db", db, "--format", "json")
    old = vmguard("db", "status", "--db", db, "--format", "json")
    assert new.code == old.code == 0, (new.stderr, old.stderr)
    assert json.loads(new.stdout) == json.loads(old.stdout)
    assert json.loads(new.stdout)["advisories"] == 1
    same = vmguard("db", "status", "--db", db, "--vulns-db", db)
    assert same.code == 0, same.stderr


def test_both_spellings_naming_different_indexes_is_a_usage_error(tmp_path: Path) -> None:
    run = vmguard("db", "status", "--db", tmp_path / "a.sqlite", "--vulns-db", tmp_path / "b")
    assert run.code == 2
    assert run.stderr.startswith("vmguard: error: ") and run.stderr.count("\n") == 1
    assert "old spelling of --vulns-db" in run.stderr


@pytest.mark.parametrize("command", (("scan",), ("audit",), ("sanitize",), ("host",)))
def test_policy_is_one_option_everywhere(command: tuple[str, ...]) -> None:
    run = vmguard(*command, "--help")
    assert run.code == 0, run.stderr
    assert "Policy file (default: ./vmguard.toml)." in " ".join(
        run.stdout.replace("│", " ").split()
    )
