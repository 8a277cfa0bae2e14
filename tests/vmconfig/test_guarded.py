"""audit: a rule that raises is one problem in the report; every other finding stays."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from brokenchecks import BROKEN_RULE, RAISED, assert_only_the_failure_added
from vmguard.findings import Rule
from vmguard.vmconfig.audit import AuditOptions, audit_paths
from vmguard.vmconfig.model import ConfigFormat, NetworkSpec, VmSpec
from vmguard.vmconfig.rules.catalogue import builtin_rules
from vmguard.vmconfig.rules.model import AuditContext, ConfigRule, Hit, NetworkCheck, VmCheck

from .corpus import FIXTURES

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
INFO = Rule(
    BROKEN_RULE.rule_id,
    BROKEN_RULE.title,
    BROKEN_RULE.severity,
    BROKEN_RULE.threat,
    BROKEN_RULE.remediation,
    rationale="It exists to break.",
)


def _vm_rule(error: Exception) -> VmCheck:
    def check(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
        raise error  # while iterating: a generator
        yield  # pragma: no cover

    return VmCheck(INFO, frozenset({ConfigFormat.LIBVIRT}), check)


def _network_rule(error: Exception) -> NetworkCheck:
    def check(network: NetworkSpec) -> Iterator[Hit]:
        raise error  # when called: not a generator

    return NetworkCheck(INFO, check)


TARGETS = {
    "VM": (FIXTURES / "insecure-domain.xml", _vm_rule, "VM 'insecure-kvm'"),
    "network": (CORPUS / "libvirt/network/open-network.xml", _network_rule, "network 'open'"),
}


@pytest.mark.parametrize("kind", sorted(RAISED))
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_a_failing_rule_is_recorded_and_the_rest_stands(
    kind: str, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    definition, make, subject = TARGETS[target]
    (intact,) = audit_paths([definition], AuditOptions())
    broken: ConfigRule = make(RAISED[kind][0])
    monkeypatch.setattr("vmguard.vmconfig.audit.builtin_rules", lambda: (broken, *builtin_rules()))
    (report,) = audit_paths([definition], AuditOptions())
    name = f"rule test.broken on {subject}"
    assert_only_the_failure_added(report, intact, str(definition), name, kind)
