"""Which scan findings sanitize removes: decided by the rule's facts, not its id."""

from __future__ import annotations

from dataclasses import replace

from vmguard.checks.sshd import ROOT_LOGIN
from vmguard.findings import Area, Rule, SecretKind, Severity, Threat
from vmguard.sanitize.secrets import wanted


def _rule(rule_id: str, shares: SecretKind | None) -> Rule:
    return Rule(
        rule_id, "t", Severity.HIGH, Threat.IMAGE_EXPOSURE, "r", rationale="w", shares=shares
    )


def test_a_renamed_secret_rule_is_still_removed() -> None:
    leak = _rule("vendor.renamed-token", SecretKind.CREDENTIAL).finding("/srv/.env", "t…")
    assert wanted(leak)
    assert not wanted(replace(leak, suppressed="accepted by policy"))
    assert not wanted(replace(leak, location=replace(leak.location, area=Area.UNALLOCATED)))


def test_an_id_that_looks_like_a_secret_rule_is_not_enough() -> None:
    assert not wanted(_rule("secret.no-fact", None).finding("/srv/.env", "t…"))
    assert not wanted(ROOT_LOGIN.finding("/etc/ssh/sshd_config", "PermitRootLogin yes"))
