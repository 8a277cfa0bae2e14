"""The vmguard.toml policy: disable, severity overrides, suppressions with reasons."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from vmguard.findings import Area, Finding, Location, Report, Severity, Target, Threat
from vmguard.policy import PolicyError, apply_policy, load_policy, parse_policy


def _finding(rule_id: str, subject: str = "web-1") -> Finding:
    return Finding(
        rule_id, "t", Severity.HIGH, Threat.VM_ESCAPE, Location("/etc/vm/web-1.xml", Area.CONFIG),
        "e", "fix", (), subject,
    )  # fmt: skip


REPORT = Report(
    Target("vm-config", "/etc/vm/web-1.xml"),
    findings=(_finding("libvirt.hostdev"), _finding("libvirt.tpm"), _finding("vmx.vnc")),
)


def test_disable_severity_and_suppress() -> None:
    policy = parse_policy(
        """
[rules]
disable = ["vmx.*"]
[severity]
"libvirt.tpm" = "low"
[[suppress]]
rule = "libvirt.hostdev"
vm = "web-*"
reason = "GPU passthrough approved in SEC-42"
""",
        "vmguard.toml",
    )
    result = apply_policy(REPORT, policy)
    by_rule = {f.rule_id: f for f in result.findings}
    assert "vmx.vnc" not in by_rule
    assert by_rule["libvirt.tpm"].severity is Severity.LOW
    assert by_rule["libvirt.hostdev"].suppressed == "GPU passthrough approved in SEC-42"
    assert result.worst() is Severity.LOW
    assert result.summary()["high"] == 0


def test_suppression_matches_subject_and_path_only() -> None:
    policy = parse_policy(
        '[[suppress]]\nrule = "*"\nvm = "db-*"\nreason = "r"\n'
        '[[suppress]]\nrule = "libvirt.tpm"\npath = "/other/*"\nreason = "r"\n',
        "p",
    )
    assert all(f.suppressed is None for f in apply_policy(REPORT, policy).findings)


def test_expired_suppressions_stop_working_and_are_reported() -> None:
    policy = parse_policy(
        '[[suppress]]\nrule = "libvirt.hostdev"\nreason = "temporary"\nexpires = 2024-01-31\n', "p"
    )
    result = apply_policy(REPORT, policy, today=date(2024, 2, 1))
    assert all(f.suppressed is None for f in result.findings)
    assert any("expired" in e.reason for e in result.errors)
    still = apply_policy(REPORT, policy, today=date(2024, 1, 31))
    assert any(f.suppressed == "temporary" for f in still.findings)


@pytest.mark.parametrize(
    "text",
    [
        '[[suppress]]\nrule = "x"\n',  # no reason
        '[[suppress]]\nrule = "x"\nreason = "  "\n',
        '[[suppress]]\nrule = "x"\nreason = "r"\nexpires = "soon"\n',
        '[[suppress]]\nrule = "x"\nreason = "r"\nowner = "me"\n',
        '[severity]\n"x" = "urgent"\n',
        '[rules]\ndisable = "x"\n',
        "[colour]\n",
        "not toml = = =",
    ],
)
def test_invalid_policies_are_refused(text: str) -> None:
    with pytest.raises(PolicyError):
        parse_policy(text, "vmguard.toml")


def test_policy_is_found_in_the_working_directory(tmp_path: Path) -> None:
    assert load_policy(None, cwd=tmp_path).suppressions == ()
    (tmp_path / "vmguard.toml").write_text('[rules]\ndisable = ["a"]\n')
    assert load_policy(None, cwd=tmp_path).disabled == frozenset({"a"})


def test_oversized_policy_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text("# " + "x" * (1024 * 1024 + 10))
    with pytest.raises(PolicyError, match="larger than"):
        load_policy(path)


def test_rule_ids_that_name_no_rule_are_reported() -> None:
    policy = parse_policy(
        """
[rules]
disable = ["ssh.rootlogin", "vmx.vnc*", "malware.yara.my_rule"]
[severity]
"libvirt.graphic*" = "low"
"qemuconf.root" = "info"
[[suppress]]
rule = "secret.aws-acces-key"
reason = "a typo"
""",
        "vmguard.toml",
    )
    messages = [e.reason for e in apply_policy(REPORT, policy).errors]
    assert messages == [
        "[rules] disable 'ssh.rootlogin' names no vmguard rule (vmguard rules)",
        "[[suppress]] rule 'secret.aws-acces-key' names no vmguard rule (vmguard rules)",
    ]
    assert all(e.where == "vmguard.toml" for e in apply_policy(REPORT, policy).errors)
