"""scan_image on real images: recall on a planted Debian, precision on a clean one, redaction
in every output, parallel == serial, windows and caps, user YARA rules, hostile links."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import plantedimage
from clirunner import vmguard
from vmguard.findings import Area, Rule, Severity, Threat
from vmguard.scanning import MiB, ScanOptions, _dedupe, scan_image


@pytest.fixture(scope="module")
def planted_report(planted_disk: Path):
    return scan_image(planted_disk, ScanOptions(deleted=True))


def test_every_planted_kind_is_found_at_its_path(planted_report) -> None:
    found = {(f.rule_id, f.location.path) for f in planted_report.findings}
    missing = [e for e in plantedimage.EXPECTED if e not in found]
    assert not missing
    assert planted_report.errors == ()


def test_deleted_keys_are_found_in_free_space_at_their_offsets(
    planted_disk: Path, planted_report
) -> None:
    deleted = [f for f in planted_report.findings if f.location.area is Area.UNALLOCATED]
    assert sorted(f.location.partition for f in deleted) == [1, 2]
    starts = {1: 1024 * 1024}
    out = subprocess.run(["sfdisk", "--json", str(planted_disk)], capture_output=True, check=True)
    for part in json.loads(out.stdout)["partitiontable"]["partitions"]:
        starts[int(part["node"][-1])] = part["start"] * 512
    with open(planted_disk, "rb") as disk:
        for f in deleted:
            assert f.rule_id == "secret.private-key"
            assert f.location.offset is not None and f.location.partition is not None
            disk.seek(starts[f.location.partition] + f.location.offset)
            assert disk.read(11) == b"-----BEGIN "
    assert {f.location.path for f in deleted} == {
        "planted.raw partition 1 (/)",
        "planted.raw partition 2 (/home)",
    }


def test_encrypted_keys_are_reported_low(planted_report) -> None:
    (enc,) = [f for f in planted_report.findings if f.location.path == "/home/alice/encrypted.pem"]
    assert enc.severity is Severity.LOW and "passphrase-protected" in enc.evidence


def test_a_clean_debootstrap_has_no_serious_secret_findings(debian_disk: Path) -> None:
    report = scan_image(debian_disk, ScanOptions(deleted=True))
    serious = [
        f
        for f in report.findings
        if f.threat is Threat.IMAGE_EXPOSURE and f.severity.rank >= Severity.HIGH.rank
    ]
    assert serious == []
    # The only thing the fixture plants is alice's authorized key.
    assert [f.rule_id for f in report.findings] == ["ssh.authorized-key-leftover"]


def test_no_secret_appears_whole_in_any_output(planted_disk: Path, tmp_path: Path) -> None:
    secrets = json.loads((planted_disk.parent / "secrets.json").read_text())
    key_line = (planted_disk.parent / "root/root/.ssh/id_rsa").read_text().splitlines()[1]
    for fmt in ("json", "console"):
        run = vmguard("scan", "--deleted", "--format", fmt, planted_disk, timeout=120)
        assert run.code == 1, run.stderr  # critical findings reach --fail-on high
        text = run.stdout + run.stderr
        assert key_line not in text
        for name, value in secrets.items():
            assert value not in text, f"{name} printed whole in {fmt}"


def test_parallel_workers_give_the_same_findings(planted_disk: Path) -> None:
    serial = scan_image(planted_disk, ScanOptions(workers=1))
    parallel = scan_image(planted_disk, ScanOptions(workers=2))
    assert [(f.rule_id, f.location.path, f.evidence) for f in serial.findings] == [
        (f.rule_id, f.location.path, f.evidence) for f in parallel.findings
    ]


def test_large_files_are_scanned_in_windows_and_caps_are_listed(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc/fstab").write_text("")
    key = subprocess.run(
        ["openssl", "genpkey", "-algorithm", "ed25519"], capture_output=True, check=True
    ).stdout
    with open(tree / "big.bin", "wb") as f:
        f.write(os.urandom(3 * MiB - 40))  # the key straddles the 3 MiB window boundary
        f.write(key)
        f.write(os.urandom(2 * MiB))
        f.write(key.replace(b"PRIVATE", b"PRIVATE"))
    with open(tree / "huge.bin", "wb") as f:
        f.write(os.urandom(9 * MiB))
        f.write(key)  # beyond the cap: not scanned, and said so
    img = tmp_path / "fs.img"
    subprocess.run(["mkfs.ext4", "-q", "-d", str(tree), str(img), "64M"], check=True)
    report = scan_image(img, ScanOptions(window=MiB * 3, max_file_bytes=8 * MiB, workers=1))
    keys = [f for f in report.findings if f.rule_id == "secret.private-key"]
    assert [f.location.path for f in keys] == ["/big.bin"]
    assert keys[0].location.offset == 3 * MiB - 40
    assert [(e.where, e.reason) for e in report.errors] == [
        (
            "/huge.bin",
            f"only the first {8 * MiB} of {9 * MiB + len(key)} bytes were scanned "
            "(--max-file-size)",
        )
    ]


def test_user_yara_rules_are_applied(tmp_path: Path, debian_disk: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bash.yar").write_text(
        'rule debian_bash { meta: severity = "low" strings: $a = "GNU bash, version" '
        "condition: $a }"
    )
    report = scan_image(debian_disk, ScanOptions(yara_dirs=(rules,)))
    hits = {f.location.path for f in report.findings if f.rule_id == "malware.yara.debian_bash"}
    assert "/usr/bin/bash" in hits
    assert all(
        f.severity is Severity.LOW
        for f in report.findings
        if f.rule_id == "malware.yara.debian_bash"
    )


def test_broken_user_rules_are_a_usage_error(tmp_path: Path, debian_disk: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.yar").write_text("rule broken { condition: $nope }")
    run = vmguard("scan", "--yara-rules", rules, debian_disk)
    assert run.code == 2
    assert run.stderr.startswith("vmguard: error: YARA rule file") and run.stderr.count("\n") == 1


def test_guest_links_to_host_files_are_never_followed(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    canary.write_text("CANARY-host-secret AKIAQWERTYUIOPASDFGH\n")
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "root").mkdir()
    (tree / "etc/fstab").write_text("")
    os.symlink("/proc/self/environ", tree / "root/.bash_history")
    os.symlink(str(canary), tree / "etc/os-release")
    os.symlink("../../../../.." + str(canary), tree / "root/.netrc")
    img = tmp_path / "fs.img"
    subprocess.run(["mkfs.ext4", "-q", "-d", str(tree), str(img), "8M"], check=True)
    run = vmguard("scan", "--deleted", "--format", "json", img, trace=True)
    assert run.code == 0, run.stderr
    assert "/proc/self/environ" not in run.opened and str(canary) not in run.opened
    assert "CANARY" not in run.stdout
    assert json.loads(run.stdout)["findings"] == []


def test_one_secret_in_a_file_reports_the_specific_rule_not_the_generic_one() -> None:
    def rule(rule_id: str, *, generic: bool) -> Rule:
        return Rule(rule_id, "t", Severity.HIGH, Threat.IMAGE_EXPOSURE, "r", generic=generic)

    # Ids say nothing: the generic fact decides, whichever comes first.
    broad = rule("renamed.broad", generic=True).finding("/etc/app.env", "a", secret=b"tok")
    vendor = rule("renamed.vendor", generic=False).finding("/etc/app.env", "b", secret=b"tok")
    assert [f.rule_id for f in _dedupe([broad, vendor])] == ["renamed.vendor"]
    assert [f.rule_id for f in _dedupe([vendor, broad])] == ["renamed.vendor"]
