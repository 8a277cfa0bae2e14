"""``vmguard rules``: the list a policy author reads, as text and JSON, filtered."""

from __future__ import annotations

import json
from pathlib import Path

from clirunner import vmguard
from vmguard.rulebook import rulebook


def test_json_lists_every_rule(tmp_path: Path) -> None:
    run = vmguard("rules", "--format", "json", "-o", tmp_path / "rules.json")
    assert run.code == 0, run.stderr
    rules = json.loads((tmp_path / "rules.json").read_text())["rules"]
    assert [r["id"] for r in rules] == [d.rule.rule_id for d in rulebook()]
    for rule in rules:
        assert rule["title"] and rule["rationale"] and rule["remediation"], rule["id"]
    by_id = {r["id"]: r for r in rules}
    assert by_id["libvirt.hostdev"]["command"] == "audit"
    assert by_id["libvirt.hostdev"]["rationale"]
    assert by_id["malware.eicar"]["severity"] == "medium"
    assert by_id["integrity.disk-modified"]["threat"] == "vm-modification"


def test_text_is_grouped_and_filtered() -> None:
    run = vmguard(
        "rules", "--command", "verify", "--command", "host", "--threat", "vm-modification"
    )
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    headers = [line for line in lines if not line.startswith(" ")]
    assert headers == ["host (3 rules)", "verify (6 rules)"]
    assert all(" vm-modification " in line for line in lines if line.startswith(" "))
    assert any("integrity.guest-file-modified" in line for line in lines)
    assert any("host.image-writable" in line for line in lines)


def test_unknown_command_is_a_one_line_error() -> None:
    run = vmguard("rules", "--command", "inspect")
    assert run.code == 2
    assert run.stderr == (
        "vmguard: error: --command inspect: choose from scan, audit, host, verify, fleet, "
        "sanitize\n"
    )
