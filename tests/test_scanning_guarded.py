"""scan: a guest check, a metadata check or the content scan of one file that raises is one
problem in the report; every other finding stays."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from brokenchecks import RAISED, BrokenCheck, assert_only_the_failure_added
from vmguard.checks.content import ContentScanner
from vmguard.checks.interface import FileContent
from vmguard.checks.permissions import MetadataChecks
from vmguard.checks.registry import guest_checks
from vmguard.disk.guestfs import GuestStat
from vmguard.findings import Finding, Report
from vmguard.problems import Problem, Stage, check_name
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


def test_a_content_scan_that_breaks_on_one_file_loses_only_that_file(
    planted_disk: Path, intact: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = "/etc/passwd"
    original = ContentScanner.scan

    def scan(self: ContentScanner, content: FileContent) -> list[Finding]:
        if content.path == victim:
            raise RAISED["unexpected"][0]
        return original(self, content)

    monkeypatch.setattr(ContentScanner, "scan", scan)
    report = scan_image(planted_disk, OPTIONS)
    reason = f"content scan failed: {RAISED['unexpected'][1]}"
    assert report.errors == (Problem(Stage.CONTENT, victim, reason),)
    elsewhere = [f for f in intact.findings if f.location.path != victim]
    assert [f for f in report.findings if f.location.path != victim] == elsewhere


def test_a_metadata_check_that_breaks_on_one_entry_loses_only_that_entry(
    planted_disk: Path, intact: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = "/etc"
    original = MetadataChecks.check

    def check(self: MetadataChecks, path: str, info: GuestStat) -> Iterable[Finding]:
        if path == victim:
            raise RAISED["vmguard-error"][0]
        return original(self, path, info)

    monkeypatch.setattr(MetadataChecks, "check", check)
    report = scan_image(planted_disk, OPTIONS)
    name = check_name(MetadataChecks())
    reason = f"{name} failed: {RAISED['vmguard-error'][1]}"
    assert report.errors == (Problem(Stage.CHECK, victim, reason),)
    assert report.findings == intact.findings
