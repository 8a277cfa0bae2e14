"""JUnit XML of the real CLI: well-formed, counts that add up, a test case per finding,
suppressed findings skipped with their reason, hostile names kept parseable."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from clirunner import Run, vmguard
from vmguard.findings import Report

CORPUS = Path(__file__).resolve().parents[1] / "data/corpus"
CONFIG_A = CORPUS / "libvirt/qemuxmlconfdata/blkdeviotune.xml"


def _counts(element: ET.Element) -> dict[str, int]:
    return {k: int(element.get(k, "-1")) for k in ("tests", "failures", "errors", "skipped")}


def test_planted_scan_is_one_suite_with_a_failure_per_finding(
    planted_runs: dict[str, Run], planted_report: Report
) -> None:
    run = planted_runs["junit"]
    assert run.code == 1, run.stderr
    root = ET.fromstring(run.stdout)
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == len(planted_report.findings) == _counts(suite)["tests"]
    assert (
        _counts(suite)
        == _counts(root)
        == {"tests": len(cases), "failures": len(cases), "errors": 0, "skipped": 0}
    )
    failures = [c.find("failure") for c in cases]
    assert all(f is not None for f in failures)
    types = {f.get("type") for f in failures if f is not None}
    assert types == {"critical", "high", "medium", "low"}
    aws = next(c for c in cases if c.get("name", "").startswith("secret.aws-access-key"))
    assert aws.get("classname") == "vmguard.image-exposure" and aws.get("line") == "2"
    assert "fix: Revoke and rotate it" in (aws.find("failure").text or "")  # type: ignore[union-attr]
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["summary.critical"] == str(planted_report.summary()["critical"])


def test_several_configs_are_one_suite_each_with_suppressions_skipped(tmp_path: Path) -> None:
    configs = [CONFIG_A, *sorted((CORPUS / "vmx").rglob("*.vmx"))[:2]]
    policy = tmp_path / "vmguard.toml"
    policy.write_text('[[suppress]]\nrule = "libvirt.disk-*"\nreason = "LUKS below, SEC-7"\n')
    run = vmguard("audit", "--format", "junit", "--policy", policy, *configs, cwd=tmp_path)
    assert run.code in (0, 1), run.stderr
    root = ET.fromstring(run.stdout)
    suites = root.findall("testsuite")
    assert len(suites) == len(configs)
    assert [s.get("name") for s in suites] == [f"vmguard vm-config {c}" for c in configs]
    skipped = [c for c in suites[0].findall("testcase") if c.find("skipped") is not None]
    assert skipped and _counts(suites[0])["skipped"] == len(skipped)
    for case in skipped:
        assert case.find("skipped").get("message") == "suppressed: LUKS below, SEC-7"  # type: ignore[union-attr]
        assert case.find("failure") is None
    assert sum(_counts(s)["tests"] for s in suites) == _counts(root)["tests"]


def test_a_clean_image_is_one_passing_case(tmp_path: Path) -> None:
    import subprocess

    (tmp_path / "t").mkdir()
    image = tmp_path / "clean.img"
    subprocess.run(["mkfs.ext4", "-q", "-d", str(tmp_path / "t"), str(image), "8M"], check=True)
    root = ET.fromstring(vmguard("scan", "--format", "junit", image).stdout)
    # No OS on the bare filesystem: the report says so in errors, a case in error here.
    read_error, passed = root.iter("testcase")
    assert read_error.get("classname") == "vmguard.read-error"
    assert "no operating system" in read_error.find("error").get("message", "")  # type: ignore[union-attr]
    assert passed.get("name") == "no findings" and list(passed) == []
    assert _counts(root) == {"tests": 2, "failures": 0, "errors": 1, "skipped": 0}


def test_hostile_names_leave_well_formed_xml(hostile_image: Path) -> None:
    run = vmguard("scan", "--format", "junit", hostile_image)
    root = ET.fromstring(run.stdout)  # raises on control characters or broken markup
    names = sorted(c.get("file", "") for c in root.iter("testcase"))
    assert names[0].startswith("/srv/<img src=x onerror=alert(1)>&\"'#?%41 \\u202etxt.pem")
    assert names[1] == "/srv/evil\\x1b[2J\\x1b[31m\\nFAKE vmguard: no findings\\x07.pem"
    assert "\x1b" not in run.stdout and "\x07" not in run.stdout
