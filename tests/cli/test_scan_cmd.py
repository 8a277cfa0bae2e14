"""``vmguard scan`` as a user runs it: several images, --vulns, --policy, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from clirunner import vmguard
from vmguard.inspection import ImageOptions, inspect_image
from vulns.osvdata import debian_record, write_all_zip

CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"


def test_scan_with_vulns_matches_the_index(debian_disk: Path, tmp_path: Path) -> None:
    report = inspect_image(debian_disk, ImageOptions())
    assert report.inventory is not None
    libc6 = next(p for p in report.inventory.packages if p.name == "libc6")
    record = debian_record("DSA-9001-1", "glibc", (libc6.source_version or libc6.version) + "+1",
                           aliases=("CVE-2024-0001",))  # fmt: skip
    record["severity"] = [{"type": "CVSS_V3", "score": CRITICAL}]
    db = tmp_path / "vulns.sqlite"
    assert (
        vmguard("db", "import", write_all_zip(tmp_path / "all.zip", [record]), "--db", db).code == 0
    )
    run = vmguard("scan", "--vulns", "--db", db, "--format", "json", debian_disk)
    assert run.code == 1, run.stderr  # a critical advisory reaches --fail-on high
    findings = json.loads(run.stdout)["findings"]
    vulns = [f for f in findings if f["rule_id"] == "vuln.package"]
    assert vulns and "CVE-2024-0001" in vulns[0]["evidence"]
    assert {f["threat"] for f in vulns} == {"vulnerable-software"}


def test_scan_without_an_index_fails_before_reading(debian_disk: Path, tmp_path: Path) -> None:
    run = vmguard("scan", "--vulns", "--db", tmp_path / "none.sqlite", debian_disk)
    assert run.code == 2 and run.stderr.startswith("vmguard: error: ")
    assert run.stderr.count("\n") == 1


def test_several_images_and_a_policy(debian_disk: Path, tmp_path: Path) -> None:
    policy = tmp_path / "vmguard.toml"
    policy.write_text(
        '[[suppress]]\nrule = "ssh.authorized-key-leftover"\n'
        'reason = "the build user key is rotated at first boot"\n'
    )
    run = vmguard("scan", "--format", "json", "--policy", policy, debian_disk, debian_disk)
    assert run.code == 0, run.stderr
    document = json.loads(run.stdout)
    assert [r["target"]["kind"] for r in document["reports"]] == ["image", "image"]
    for report in document["reports"]:
        (finding,) = report["findings"]
        assert finding["suppressed"] == "the build user key is rotated at first boot"
        assert report["summary"]["medium"] == 0
