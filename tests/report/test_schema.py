"""The shipped JSON Schema, checked against the JSON every report command writes.

Each command runs for real: inspect, scan, vulns on the planted image, audit on the shared
corpus (one file and several), verify on a bundle signed by the real CLI (valid, then
modified), host on the host tests' weak root. Commands that write no report (sign, sbom,
keygen...) are listed; a command not registered in this build is skipped (``--help``).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest

from clirunner import Run, vmguard
from vmguard.report.schema import report_schema
from vulns.osvdata import debian_record, write_all_zip

CORPUS = Path(__file__).resolve().parents[1] / "data/corpus"
CONFIGS = [
    CORPUS / "libvirt/qemuxmlconfdata/blkdeviotune.xml",
    *sorted((CORPUS / "vmx").rglob("*.vmx"))[:2],
]


def _validator() -> jsonschema.Draft202012Validator:
    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _check(run: Run) -> dict:
    assert run.code in (0, 1), run.stderr
    document = json.loads(run.stdout)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in _validator().iter_errors(document)]
    assert errors == []
    return document


def _registered() -> set[str]:
    """Command names in the Commands box of ``vmguard --help``."""
    box = vmguard("--help").stdout.split("─ Commands ", 1)[1].split("╰", 1)[0]
    return {m.group(1) for m in re.finditer(r"^│ ([a-z][a-z-]*) ", box, re.M)}


def test_the_schema_is_shipped_and_rejects_what_breaks_the_contract(
    planted_runs: dict[str, Run],
) -> None:
    document = json.loads(planted_runs["json"].stdout)
    assert list(_validator().iter_errors(document)) == []
    broken = json.loads(planted_runs["json"].stdout)
    broken["findings"][0]["severity"] = "severe"
    del broken["summary"]["info"]
    broken["findings"][1]["fingerprint"] = "00" * 32  # the digest must never be rendered
    assert len(list(_validator().iter_errors(broken))) == 1  # oneOf: report or multi-report
    report_def = {**report_schema(), "$ref": "#/$defs/report"}
    del report_def["oneOf"]
    assert len(list(jsonschema.Draft202012Validator(report_def).iter_errors(broken))) == 3


def test_scan_json(planted_runs: dict[str, Run]) -> None:
    document = _check(planted_runs["json"])
    assert document["inventory"]["os"]["distro"] == "debian"
    assert {f["location"]["area"] for f in document["findings"]} == {"file", "unallocated"}


def test_sanitize_json(planted_disk: Path, tmp_path: Path) -> None:
    out = tmp_path / "clean.qcow2"
    args = ("sanitize", planted_disk, "-o", out, "--format", "json", "--workers", "1")
    document = _check(vmguard(*args, timeout=300, memory_cap=4 << 30))
    assert document["target"]["path"] == str(out)
    assert any(f["rule_id"] == "sanitize.finding-removed" for f in document["findings"])


def test_inspect_json(planted_disk: Path) -> None:
    document = _check(vmguard("inspect", "--format", "json", planted_disk))
    assert len(document["inventory"]["partitions"]) == 2 and document["inventory"]["packages"]


def test_audit_json_one_and_several(tmp_path: Path) -> None:
    one = _check(vmguard("audit", "--format", "json", CONFIGS[0], cwd=tmp_path))
    assert one["target"]["kind"] == "vm-config" and one["findings"]
    several = _check(vmguard("audit", "--format", "json", *CONFIGS, cwd=tmp_path))
    assert [r["target"]["path"] for r in several["reports"]] == [str(c) for c in CONFIGS]


def test_vulns_json(planted_disk: Path, tmp_path: Path) -> None:
    if "vulns" not in _registered():
        pytest.skip("vmguard vulns is not registered in this build")
    archive = write_all_zip(
        tmp_path / "all.zip", [debian_record("DSA-9999-1", "apt", "2.6.99", urgency="high")]
    )
    db = tmp_path / "vulns.sqlite"
    imported = vmguard("db", "import", "--db", db, archive)
    assert imported.code == 0, imported.stderr
    document = _check(vmguard("vulns", "--db", db, "--format", "json", planted_disk))
    vulnerable = [f for f in document["findings"] if f["threat"] == "vulnerable-software"]
    assert "apt:amd64" in {f["subject"] for f in vulnerable}  # source apt: apt, libapt-pkg


def test_verify_json_valid_and_modified(tmp_path: Path) -> None:
    if not {"keygen", "sign", "verify"} <= _registered():
        pytest.skip("vmguard keygen/sign/verify are not registered in this build")
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc/hostname").write_text("signed\n")
    image = tmp_path / "disk.img"
    subprocess.run(["mkfs.ext4", "-q", "-d", str(tree), str(image), "8M"], check=True)
    key, sig = tmp_path / "k.pem", tmp_path / "disk.sig"
    assert vmguard("keygen", "-o", key).code == 0
    signed = vmguard("sign", image, "--key", key, "-o", sig)
    assert signed.code == 0, signed.stderr
    args = ("verify", image, "--sig", sig, "--pubkey", f"{key}.pub", "--exact", "--format", "json")
    valid = _check(vmguard(*args))
    assert valid["target"]["kind"] == "bundle" and valid["findings"] == []
    with open(image, "r+b") as disk:
        disk.seek(4 * 1024 * 1024)
        disk.write(b"\xff" * 4096)
    modified = vmguard(*args)
    assert modified.code == 1
    assert _check(Run(0, modified.stdout, modified.stderr, ()))["findings"]


def test_host_json(tmp_path: Path) -> None:
    if "host" not in _registered():
        pytest.skip("vmguard host is not registered in this build")
    from host.hostroots import weak_root  # the host tests' real root, from Debian packages

    document = _check(vmguard("host", "--root", weak_root(tmp_path / "weak"), "--format", "json"))
    assert document["target"]["kind"] == "host" and document["findings"]


def test_fleet_report_json(tmp_path: Path) -> None:
    """Two copies of the demo's sample VM: shared secrets, findings, a run and its counts."""
    import shutil

    from vmguard.demo.sample import build_sample_vm

    sample = build_sample_vm(tmp_path / "sample").image
    catalogue = tmp_path / "catalogue"
    catalogue.mkdir()
    for name in ("a.qcow2", "b.qcow2"):
        shutil.copy(sample, catalogue / name)
    db = tmp_path / "fleet.sqlite"
    scan = vmguard("fleet", "scan", catalogue, "--db", db, "--workers", "1", timeout=300)
    assert scan.code == 0, scan.stderr
    document = _check(vmguard("fleet", "report", "--db", db, "--format", "json"))
    assert document["target"]["kind"] == "fleet"
    assert document["summary"]["images"] == 2 and document["shared_secrets"]


def test_every_report_command_is_covered() -> None:
    # sign writes a signature, keygen keys, sbom CycloneDX/SPDX (validated by their own
    # tests), demo a sample VM, db an index, gate a hook, rules a rule list (its own
    # test): none writes this report.
    known = {"inspect", "scan", "audit", "vulns", "verify", "host", "fleet", "sanitize"}
    others = {"sign", "keygen", "sbom", "demo", "db", "gate", "rules"}
    uncovered = sorted(_registered() - others - known)
    assert known - {"vulns", "verify", "host"} <= _registered()
    if uncovered:  # registered while this was written: visible in -ra, not silently passed
        pytest.skip(f"JSON of {', '.join(uncovered)} not validated against the schema yet")
