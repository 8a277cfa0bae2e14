"""sanitize_image on the planted Debian (ext4 root, XFS /home, a deleted key in each) in
every container format: the re-scan finds no exposure, the filesystems' own checkers find
nothing wrong, the inventory is the input's, and the input is untouched."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sanitize.sanitizeimages import exposures, fs_check, partitions, sha256
from vmguard.findings import Area, Report, Severity
from vmguard.inspection import ImageOptions, inspect_image
from vmguard.sanitize.catalogue import OPERATIONS
from vmguard.sanitize.pipeline import SanitizeOptions, sanitize_image
from vmguard.scanning import ScanOptions, scan_image

FORMATS = {"qcow2": "qcow2", "raw": "raw", "vmdk": "vmdk", "vhdx": "vhdx"}


@pytest.fixture(scope="module", params=sorted(FORMATS))
def sanitized(
    request: pytest.FixtureRequest, planted_disk: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, str, Report]:
    fmt = request.param
    work = tmp_path_factory.mktemp(f"sanitize-{fmt}")
    source = work / f"planted.{fmt}"
    subprocess.run(
        ["qemu-img", "convert", "-f", "raw", "-O", fmt, str(planted_disk), str(source)], check=True
    )
    before = sha256(source)
    out = work / f"clean.{fmt}"
    report = sanitize_image(
        source, out, SanitizeOptions(OPERATIONS, out_format="input", scan=ScanOptions(workers=1))
    )
    assert sha256(source) == before, "the input was modified"
    return source, out, fmt, report


def test_the_rescan_finds_no_exposure_and_no_deleted_key(sanitized) -> None:
    _, out, fmt, report = sanitized
    rescan = scan_image(out, ScanOptions(deleted=True, workers=1))
    assert rescan.inventory is not None and rescan.inventory.format == fmt
    assert exposures(rescan) == []
    assert exposures(report) == []
    assert not [f for f in rescan.findings if f.location.area is Area.UNALLOCATED]


def test_the_filesystems_check_clean(sanitized, tmp_path: Path) -> None:
    _, out, _, _ = sanitized
    parts = partitions(out, tmp_path)
    assert len(parts) == 2
    for part in parts:
        done = fs_check(part)
        assert done.returncode == 0, f"{part.name}: {done.stdout}{done.stderr}"


def test_the_inventory_is_the_inputs(sanitized) -> None:
    source, out, _, _ = sanitized
    a = inspect_image(source, ImageOptions()).inventory
    b = inspect_image(out, ImageOptions()).inventory
    assert a is not None and b is not None
    assert a.os == b.os and a.packages == b.packages and len(a.packages) > 50

    def accounts(inv):  # the password state changes: hashes are locked
        return [(u.name, u.uid, u.gid, u.home, u.shell) for u in inv.users]

    assert accounts(a) == accounts(b)
    assert {u.name: u.password for u in b.users}["legacy"] == "locked"


def test_the_report_lists_every_change_and_removed_finding(sanitized) -> None:
    _, _, _, report = sanitized
    by_rule: dict[str, list[str]] = {}
    for f in report.findings:
        by_rule.setdefault(f.rule_id, []).append(f.location.path)
        assert f.rule_id != "sanitize.not-changed" or f.severity is Severity.INFO, f
    assert "/etc/ssh/ssh_host_rsa_key" in by_rule["sanitize.ssh-hostkeys"]
    assert "/root/.bash_history" in by_rule["sanitize.histories"]
    assert "/etc/shadow" in by_rule["sanitize.password-hashes"]
    assert "/opt/app/.env" in by_rule["sanitize.secret-files"]
    assert "/home/alice/deploy.pem" in by_rule["sanitize.secret-files"]
    assert len(by_rule["sanitize.zero-free-space"]) == 2
    removed = [f for f in report.findings if f.rule_id == "sanitize.finding-removed"]
    assert len([f for f in removed if f.location.area is Area.UNALLOCATED]) == 2
    assert any(f.location.path == "/root/.ssh/id_rsa" for f in removed)
    # minbase Debian has no openssh-server and no cloud-init: nothing makes new host keys
    assert "sanitize.no-host-key-regeneration" in by_rule


def test_lines_are_removed_where_the_file_stays_valid(sanitized) -> None:
    _, out, _, _ = sanitized
    from vmguard.inspection import open_guest

    fs = open_guest(out, ImageOptions()).layout.guestfs
    assert fs is not None
    env = fs.read_file("/opt/app/.env", 1 << 20)
    assert env == b""  # every line of it carried a token
    nm = fs.read_file("/etc/NetworkManager/system-connections/office.nmconnection", 1 << 20)
    assert nm is not None and b"[wifi-security]" in nm and b"psk=" not in nm
    assert fs.read_file("/etc/machine-id", 1 << 20) in (None, b"")
    assert fs.stat("/root/.ssh/id_rsa") is None
    assert fs.read_file("/home/alice/deploy.pem", 1 << 20) == b""  # XFS: emptied in place
