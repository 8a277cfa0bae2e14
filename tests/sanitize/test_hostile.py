"""sanitize on the Debian disk with a FAT ESP carrying a key (and a deleted one), and guest
symlinks aimed at host files: FAT is cleaned with mtools and checks clean; no host file is
ever the target of a write, and a guest symlink is never written through."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from clirunner import vmguard
from sanitize.sanitizeimages import exposures, fs_check, partitions, sha256
from vmguard.findings import Area
from vmguard.inspection import ImageOptions, open_guest
from vmguard.scanning import ScanOptions, scan_image


def _pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _tool(*args: str | Path, env: dict[str, str] | None = None, stdin: bytes = b"") -> None:
    done = subprocess.run(
        [str(a) for a in args], input=stdin, capture_output=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def hostile_disk(debian_disk: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of the Debian disk: a key on the ESP and one deleted from it; root's
    histories are symlinks to a host file (absolute and by ``..``) and to the guest's
    /etc/shadow."""
    work = tmp_path_factory.mktemp("hostile-sanitize")
    disk = work / "hostile.raw"
    _tool("cp", "--sparse=always", debian_disk, disk)
    host_file = work / "host-secret.txt"
    host_file.write_text("a host file nothing may write\n")
    table = json.loads(subprocess.run(["sfdisk", "--json", disk], capture_output=True).stdout)
    esp, root = (p["start"] * 512 for p in table["partitiontable"]["partitions"][:2])
    key, old = work / "key.pem", work / "old.pem"
    key.write_bytes(_pem())
    old.write_bytes(_pem())
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    image = f"{disk}@@{esp}"
    _tool("mcopy", "-i", image, key, "::/EFI/debian/deploy.pem", env=env)
    _tool("mcopy", "-i", image, old, "::/old.pem", env=env)
    _tool("mdel", "-i", image, "::/old.pem", env=env)
    up = "../" * 12 + str(host_file).lstrip("/")
    script = (
        f"symlink /root/.bash_history {host_file}\n"
        f"symlink /root/.mysql_history {up}\n"
        "symlink /root/.psql_history /etc/shadow\n"
    )
    _tool("debugfs", "-w", "-f", "-", f"{disk}?offset={root}", stdin=script.encode())
    return disk, host_file


def test_fat_is_cleaned_and_no_host_file_is_written(hostile_disk, tmp_path: Path) -> None:
    disk, host_file = hostile_disk
    before_input, before_host = sha256(disk), sha256(host_file)
    out = tmp_path / "clean.qcow2"
    run = vmguard(
        "sanitize", disk, "-o", out, "--format", "json", "--output", tmp_path / "r.json",
        "--workers", "1", trace=True, timeout=600, memory_cap=4 << 30,
    )  # fmt: skip
    assert run.code in (0, 1), run.stderr
    assert sha256(disk) == before_input and sha256(host_file) == before_host
    assert str(host_file) not in run.opened  # not even opened, by vmguard or a tool it ran
    report = json.loads((tmp_path / "r.json").read_text())
    skipped = {
        f["location"]["path"]
        for f in report["findings"]
        if f["rule_id"] == "sanitize.not-changed" and "symlink" in f["evidence"]
    }
    assert {"/root/.bash_history", "/root/.mysql_history", "/root/.psql_history"} <= skipped

    guest = open_guest(out, ImageOptions())
    fs = guest.layout.guestfs
    assert fs is not None
    assert fs.readlink("/root/.bash_history") == str(host_file)  # links left as they were
    shadow = fs.read_file("/etc/shadow", 1 << 20)
    assert shadow is not None and shadow.startswith(b"root:")  # not emptied through the link
    assert fs.stat("/boot/efi/EFI/debian/deploy.pem") is None
    assert fs.read_file("/boot/efi/EFI/debian/grub.cfg", 1 << 20)  # the rest of the ESP stays
    rescan = scan_image(out, ScanOptions(deleted=True, workers=1))
    assert exposures(rescan) == []
    assert not [f for f in rescan.findings if f.location.area is Area.UNALLOCATED]
    for part in partitions(out, tmp_path):
        done = fs_check(part)
        assert done.returncode == 0, f"{part.name}: {done.stdout}{done.stderr}"


def test_the_input_holds_what_the_output_lost(hostile_disk) -> None:
    """The planted items are really there before sanitizing (so the test above can fail)."""
    disk, _ = hostile_disk
    report = scan_image(disk, ScanOptions(deleted=True, workers=1))
    paths = {f.location.path for f in report.findings}
    assert "/boot/efi/EFI/debian/deploy.pem" in paths
    assert any(
        f.location.area is Area.UNALLOCATED and f.location.partition == 1 for f in report.findings
    )
