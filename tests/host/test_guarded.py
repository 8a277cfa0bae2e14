"""host: a check that raises is one problem in the report; every other finding stays."""

from __future__ import annotations

from pathlib import Path

import pytest

from brokenchecks import RAISED, BrokenCheck, assert_only_the_failure_added
from vmguard.host.audit import audit_host
from vmguard.host.catalogue import host_checks


@pytest.mark.parametrize("kind", sorted(RAISED))
def test_a_failing_check_is_recorded_and_the_rest_stands(
    kind: str, weak: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    intact = audit_host(weak)
    broken = BrokenCheck(RAISED[kind][0])
    monkeypatch.setattr("vmguard.host.audit.host_checks", lambda: (*host_checks(), broken))
    report = audit_host(weak)
    assert_only_the_failure_added(report, intact, str(weak), "BrokenCheck (test.broken)", kind)
