"""sanitize on a Windows-shaped guest on NTFS (mkntfs, filled through ntfs-3g over FUSE: the
test's own image): answer files, setup logs, PowerShell history and a credential file are
cleaned with ntfscp, a deleted key leaves NTFS free space, and ntfsfix finds nothing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from sanitize.sanitizeimages import exposures, partitions, run
from vmguard.demo.imagebuild import PartitionSpec, assemble_gpt
from vmguard.findings import Area
from vmguard.inspection import ImageOptions, open_guest
from vmguard.sanitize.catalogue import OPERATIONS
from vmguard.sanitize.ntfswriter import EMPTY_ANSWER_FILE
from vmguard.sanitize.pipeline import SanitizeOptions, sanitize_image
from vmguard.scanning import ScanOptions, scan_image

PSREADLINE = "Users/alice/AppData/Roaming/Microsoft/Windows/PowerShell/PSReadLine"
FILES = {
    "Windows/System32/config/.keep": b"",
    "Windows/Panther/unattend.xml": b"<unattend><Password><Value>Hunter2!</Value></Password>"
    b"</unattend>\r\n",
    "Windows/Panther/setupact.log": b"setup ran\r\n" * 50,
    f"{PSREADLINE}/ConsoleHost_history.txt": b"Connect-Thing -Password 'S3cr3t-P4ss'\r\n",
    "Users/alice/.aws/credentials": b"[default]\naws_access_key_id = AKIAZ7QW3ERT5YUI2OPA\n"
    b"aws_secret_access_key = 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\n",
}


@pytest.fixture(scope="module")
def windows_disk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("ntfs-sanitize")
    fs, mountpoint = work / "c.img", work / "mnt"
    mountpoint.mkdir()
    with open(fs, "wb") as fh:
        fh.truncate(96 * 1024 * 1024)
    subprocess.run(["mkntfs", "-q", "-F", "-Q", "-L", "OS", str(fs)], check=True)
    mounted = subprocess.run(["ntfs-3g", str(fs), str(mountpoint)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"ntfs-3g cannot mount here (FUSE): {mounted.stderr.decode()[:200]}")
    key = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )  # fmt: skip
    try:
        for name, data in FILES.items():
            (mountpoint / name).parent.mkdir(parents=True, exist_ok=True)
            (mountpoint / name).write_bytes(data)
        (mountpoint / "Users/alice/old_key").write_bytes(key * 8)
        subprocess.run(["sync"], check=True)
        (mountpoint / "Users/alice/old_key").unlink()
    finally:
        subprocess.run(["umount", str(mountpoint)], check=True)
    shutil.rmtree(mountpoint)
    raw = work / "win.raw"
    basic_data = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
    part = PartitionSpec(fs, basic_data, "5f1e4a3b-0c2d-4e6f-8a9b-1c2d3e4f5a6b", "Basic data")
    assemble_gpt(raw, [part], disk_guid="0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6")
    return raw


def test_windows_guest_on_ntfs_is_cleaned(windows_disk: Path, tmp_path: Path) -> None:
    before = scan_image(windows_disk, ScanOptions(deleted=True, workers=1))
    assert exposures(before)  # the credential file and the deleted key are there to find
    out = tmp_path / "clean.vhdx"
    report = sanitize_image(
        windows_disk,
        out,
        SanitizeOptions(OPERATIONS, out_format="vhdx", scan=ScanOptions(workers=1)),
    )
    changed: dict[str, list[str]] = {}
    for f in report.findings:
        if f.severity.value == "info":
            changed.setdefault(f.location.path, []).append(f.evidence)
    assert "/Windows/Panther/unattend.xml" in changed
    # The history is emptied, and the -Password secret the scan found in it is listed as removed.
    history = changed[f"/{PSREADLINE}/ConsoleHost_history.txt"]
    assert any(e.startswith("emptied") for e in history), history
    assert any(e.startswith("secret.history") for e in history), history
    rescan = scan_image(out, ScanOptions(deleted=True, workers=1))
    assert exposures(rescan) == []
    assert not [f for f in rescan.findings if f.location.area is Area.UNALLOCATED]
    fs = open_guest(out, ImageOptions()).layout.guestfs
    assert fs is not None
    assert fs.read_file("/Windows/Panther/unattend.xml", 4096) == EMPTY_ANSWER_FILE
    for path in ("/Windows/Panther/setupact.log", "/Users/alice/.aws/credentials"):
        assert fs.read_file(path, 4096) == b"", path
    (part,) = partitions(out, tmp_path)
    checked = run("ntfsfix", "-n", part)
    assert checked.returncode == 0, checked.stdout + checked.stderr
