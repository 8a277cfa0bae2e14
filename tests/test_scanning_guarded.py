"""scan: a guest check that raises is one problem in the report; every other finding stays."""

from __future__ import annotations

from pathlib import Path

import pytest

from brokenchecks import RAISED, BrokenCheck, assert_only_the_failure_added
from vmguard.checks.registry import guest_checks
from vmguard.findings import Report
from vmguard.scanning import ScanOptions, scan_image

OPTIONS = ScanOptions(workers=1, applications=False)


@pytest.fixture(scope="module")
def intact(planted_disk: Path) -> Report:
    return scan_image(planted_disk, OPTIONS)


@pytest.mark.parametrize("kind", sorted(RAISED))
def test_a_failing_guest_check_is_recorded_and_the_rest_stands(
    kind: str, planted_disk: Path, intact: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = BrokenCheck(RAISED[kind][0])
    monkeypatch.setattr("vmguard.scanning.guest_checks", lambda: (broken, *guest_checks()))
    report = scan_image(planted_disk, OPTIONS)
    assert_only_the_failure_added(
        report, intact, str(planted_disk), "BrokenCheck (test.broken)", kind
    )
    assert report.inventory == intact.inventory
