"""vmx.encryption became five rules (VM files; vMotion and FT: disabled, not required), so
each can be waived alone; a policy naming the old id still covers all five."""

from __future__ import annotations

from pathlib import Path

from vmguard.policy import apply_policy, parse_policy

from .definitions import audit_one, rule_hits, write_vmx

OPPORTUNISTIC = (
    'migrate.encryptionMode = "opportunistic"\n'
    'ftcpt.ftEncryptionMode = "ftEncryptionOpportunistic"\n'
)


def test_opportunistic_is_not_required_but_not_disabled(tmp_path: Path) -> None:
    """The SCG wants "required"; the STIG accepts "opportunistic": two rules, two verdicts."""
    report = audit_one(write_vmx(tmp_path, "esxi8", OPPORTUNISTIC))
    assert rule_hits(report, "vmx.encryption.vmotion-required")
    assert rule_hits(report, "vmx.encryption.ft-required")
    assert rule_hits(report, "vmx.encryption.vmotion") == []
    assert rule_hits(report, "vmx.encryption.ft") == []


def test_disabled_fails_both(tmp_path: Path) -> None:
    """ "disabled" is what both guides fail."""
    lines = 'migrate.encryptionMode = "disabled"\nftcpt.ftEncryptionMode = "ftEncryptionDisabled"\n'
    report = audit_one(write_vmx(tmp_path, "esxi8", lines))
    assert rule_hits(report, "vmx.encryption.vmotion")
    assert rule_hits(report, "vmx.encryption.ft")


def test_one_part_can_be_waived_alone_and_the_old_id_waives_all(tmp_path: Path) -> None:
    """Disabling vmx.encryption.vm keeps the vMotion rule; the old id disables every part."""
    report = audit_one(write_vmx(tmp_path, "esxi8", OPPORTUNISTIC))
    one = apply_policy(report, parse_policy('[rules]\ndisable = ["vmx.encryption.vm"]\n', "p"))
    ids = {f.rule_id for f in one.findings}
    assert "vmx.encryption.vm" not in ids and "vmx.encryption.vmotion-required" in ids
    old = apply_policy(report, parse_policy('[rules]\ndisable = ["vmx.encryption"]\n', "p"))
    assert not [f for f in old.findings if f.rule_id.startswith("vmx.encryption")]
    assert old.errors == ()  # the old id still names rules: no "names no vmguard rule"
