"""audit: a rule that raises is one problem in the report; every other finding stays."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brokenchecks import BROKEN_RULE, RAISED, assert_only_the_failure_added
from vmguard.vmconfig.audit import AuditOptions, audit_paths
from vmguard.vmconfig.model import ConfigFormat, VmSpec
from vmguard.vmconfig.rules.catalogue import builtin_rules
from vmguard.vmconfig.rules.model import AuditContext, Hit, RuleInfo, VmCheck

from .corpus import FIXTURES

DEFINITION = FIXTURES / "insecure-domain.xml"


def _broken_rule(error: Exception) -> VmCheck:
    def check(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
        raise error
        yield  # pragma: no cover

    info = RuleInfo(
        BROKEN_RULE.rule_id,
        BROKEN_RULE.title,
        BROKEN_RULE.severity,
        BROKEN_RULE.threat,
        "It exists to break.",
        BROKEN_RULE.remediation,
    )
    return VmCheck(info, frozenset({ConfigFormat.LIBVIRT}), check)


@pytest.mark.parametrize("kind", sorted(RAISED))
def test_a_failing_rule_is_recorded_and_the_rest_stands(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (intact,) = audit_paths([DEFINITION], AuditOptions())
    broken = _broken_rule(RAISED[kind][0])
    monkeypatch.setattr("vmguard.vmconfig.audit.builtin_rules", lambda: (broken, *builtin_rules()))
    (report,) = audit_paths([DEFINITION], AuditOptions())
    name = "rule test.broken on VM 'insecure-kvm'"
    assert_only_the_failure_added(report, intact, str(DEFINITION), name, kind)
