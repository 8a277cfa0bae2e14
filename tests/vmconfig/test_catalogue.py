"""The rule catalogue: size, coverage, metadata, and duplicate detection."""

from __future__ import annotations

import pytest

from vmguard.findings import Threat
from vmguard.rulebook import RulebookError, catalogue
from vmguard.vmconfig.rules.catalogue import builtin_rules

SURVEY = {
    Threat.VM_COMMUNICATION, Threat.VM_ESCAPE, Threat.HOST_MONITORING, Threat.VM_MONITORING,
    Threat.DENIAL_OF_SERVICE, Threat.GUEST_TO_GUEST, Threat.VM_MODIFICATION,
    Threat.HYPERVISOR_MODIFICATION,
}  # fmt: skip


def test_at_least_sixty_rules_with_full_metadata() -> None:
    rules = builtin_rules()
    assert len(rules) >= 60
    for rule in rules:
        info = rule.info
        assert info.rule_id.split(".")[0] in {"vmx", "libvirt", "lvnet", "nwfilter", "vbox", "ovf"}
        assert info.title and info.rationale and info.remediation and info.references


@pytest.mark.parametrize("prefix", ["vmx", "libvirt", "vbox"])
def test_each_platform_covers_every_survey_class(prefix: str) -> None:
    threats = {r.info.threat for r in builtin_rules() if r.info.rule_id.startswith(prefix + ".")}
    assert threats >= SURVEY


def test_duplicate_ids_are_an_error() -> None:
    rules = [rule.info for rule in builtin_rules()]
    with pytest.raises(RulebookError, match=rules[0].rule_id):
        catalogue([("audit", (*rules, rules[0]))])
