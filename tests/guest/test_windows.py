"""Windows OS facts from registry hives written by real registry tools.

How the hives are made: an empty hive by Samba's regf writer (``windowshives.empty_hive``,
which explains the one header field it corrects), then keys and values added by
hivexsh -w (package libhivex-bin), the writer libguestfs uses.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from vmguard.guest.windows import HIVE_MAX, find_hive, is_windows, read_windows_os
from windowshives import empty_hive

from .dirview import DirView


def _hivexsh(path: Path, script: str) -> None:
    if shutil.which("hivexsh") is None:
        pytest.skip("hivexsh missing (Debian package: libhivex-bin)")
    subprocess.run(["hivexsh", "-w", str(path)], input=script + "commit\n", text=True, check=True)


SOFTWARE_SCRIPT = """\
add Microsoft
cd Microsoft
add Windows NT
cd Windows NT
add CurrentVersion
cd CurrentVersion
setval 9
ProductName
string:Windows 10 Pro\x1b[2J
DisplayVersion
string:22H2
ReleaseId
string:2009
CurrentBuild
string:19045
CurrentBuildNumber
string:19045
CurrentMajorVersionNumber
dword:0x0000000a
CurrentMinorVersionNumber
dword:0x00000000
CurrentVersion
string:6.3
EditionID
string:Professional
"""

SYSTEM_SCRIPT = """\
add Select
cd Select
setval 2
Current
dword:0x00000002
Default
dword:0x00000002
cd ..
add ControlSet001
add ControlSet002
cd ControlSet002
add Control
cd Control
add ComputerName
cd ComputerName
add ComputerName
cd ComputerName
setval 1
ComputerName
string:WIN-VMGUARD01
cd ..
cd ..
add Session Manager
cd Session Manager
add Environment
cd Environment
setval 2
PROCESSOR_ARCHITECTURE
string:AMD64
Path
expandstring:%SystemRoot%\\system32
"""


@pytest.fixture
def windows_root(tmp_path: Path) -> Path:
    """A Windows tree whose directory names use the case an installer might leave."""
    config = tmp_path / "WINDOWS/system32/Config"
    config.mkdir(parents=True)
    for name, script in (("software", SOFTWARE_SCRIPT), ("SYSTEM", SYSTEM_SCRIPT)):
        empty_hive(config / name)
        _hivexsh(config / name, script)
    return tmp_path


def test_windows_facts(windows_root: Path) -> None:
    view = DirView(windows_root)
    assert is_windows(view)
    assert find_hive(view, "SOFTWARE") == "/WINDOWS/system32/Config/software"
    gathered = read_windows_os(view)
    assert gathered.problems == ()
    facts = gathered.value
    assert (facts.family, facts.distro, facts.version) == ("windows", "windows", "10.0.19045")
    assert facts.pretty_name == "Windows 10 Pro[2J"  # ESC removed
    assert (facts.codename, facts.edition) == ("22H2", "Professional")
    assert (facts.hostname, facts.arch) == ("WIN-VMGUARD01", "x86_64")


def test_missing_control_set_is_a_problem(windows_root: Path) -> None:
    system = windows_root / "WINDOWS/system32/Config/SYSTEM"
    _hivexsh(system, "cd Select\nsetval 1\nCurrent\ndword:0x00000007\n")
    gathered = read_windows_os(DirView(windows_root))
    assert gathered.value.version == "10.0.19045"
    assert gathered.value.hostname == ""
    assert gathered.problems == ()  # absent keys are gaps in the facts, not errors
    _hivexsh(system, "cd Select\nsetval 1\nCurrent\ndword:0x00000000\n")
    gathered = read_windows_os(DirView(windows_root))
    assert [p.reason for p in gathered.problems] == ["no valid Select\\Current control set number"]


def test_corrupt_and_oversized_hives(windows_root: Path) -> None:
    config = windows_root / "WINDOWS/system32/Config"
    (config / "software").write_bytes(b"regf" + b"\xff" * 8188)
    with open(config / "SYSTEM", "wb") as huge:
        huge.truncate(HIVE_MAX + 1)
    gathered = read_windows_os(DirView(windows_root))
    assert gathered.value.family == "windows"
    assert [p.where for p in gathered.problems] == [
        "/WINDOWS/system32/Config/software",
        "/WINDOWS/system32/Config/SYSTEM",
    ]


def test_linux_tree_is_not_windows(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    assert not is_windows(DirView(tmp_path))
    assert read_windows_os(DirView(tmp_path)).problems == ()


def test_windows_guest_through_a_real_disk_image(
    windows_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """End to end: the tree on a FAT32 filesystem (mtools), converted to qcow2, inspected
    like any image (NTFS: ``test_windows_guest_on_ntfs``)."""
    import subprocess

    from vmguard.demo.imagebuild import make_vfat
    from vmguard.inspection import ImageOptions, inspect_image

    tmp_path = tmp_path_factory.mktemp("disk")  # outside the tree being copied
    fs = tmp_path / "c.img"
    make_vfat(fs, windows_root, 64 * 1024 * 1024, label="OS", serial="C0FFEE00")
    qcow2 = tmp_path / "win.qcow2"
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(fs), str(qcow2)], check=True)
    report = inspect_image(qcow2, ImageOptions())
    assert report.inventory is not None and report.inventory.os is not None
    os_facts = report.inventory.os
    assert (os_facts.family, os_facts.version, os_facts.hostname) == (
        "windows",
        "10.0.19045",
        "WIN-VMGUARD01",
    )
    assert [p.mountpoint for p in report.inventory.partitions] == ["/"]


def _ntfs_with(tree: Path, image: Path, deleted: dict[str, bytes]) -> None:
    """An NTFS filesystem (mkntfs) filled through ntfs-3g over FUSE, the way a test can make
    one without Windows: this is the test's own image, not a stranger's. ``deleted`` files
    are written, flushed and removed again, so their bytes are left in free space."""
    mountpoint = image.with_suffix(".mnt")
    mountpoint.mkdir()
    with open(image, "wb") as fh:
        fh.truncate(96 * 1024 * 1024)
    subprocess.run(["mkntfs", "-q", "-F", "-Q", "-L", "OS", str(image)], check=True)
    mounted = subprocess.run(["ntfs-3g", str(image), str(mountpoint)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"ntfs-3g cannot mount here (FUSE): {mounted.stderr.decode()[:200]}")
    try:
        shutil.copytree(tree, mountpoint, dirs_exist_ok=True)
        for name, data in deleted.items():
            (mountpoint / name).write_bytes(data)
        subprocess.run(["sync"], check=True)
        for name in deleted:
            (mountpoint / name).unlink()
    finally:
        subprocess.run(["umount", str(mountpoint)], check=True)


def test_windows_guest_on_ntfs(
    windows_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """End to end on NTFS in a GPT disk, as Windows installs itself: facts from the hives,
    every file byte for byte, a planted credential found, a deleted key found in NTFS free
    space (its $Bitmap)."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from vmguard.demo.imagebuild import PartitionSpec, assemble_gpt
    from vmguard.inspection import ImageOptions, inspect_image, open_guest
    from vmguard.scanning import ScanOptions, scan_image

    users = windows_root / "Users/alice/.aws"
    users.mkdir(parents=True)
    (users / "credentials").write_text(
        "[default]\naws_access_key_id = AKIAZ7QW3ERT5YUI2OPA\n"
        "aws_secret_access_key = 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\n"
    )
    (windows_root / "Users/alice/notes.txt").write_bytes(bytes(range(256)) * 4000)
    key = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )  # fmt: skip
    work = tmp_path_factory.mktemp("ntfs")
    fs = work / "c.img"
    _ntfs_with(windows_root, fs, {"Users/alice/id_ed25519": key * 8})
    raw = work / "win.raw"
    basic_data = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
    part = PartitionSpec(fs, basic_data, "5f1e4a3b-0c2d-4e6f-8a9b-1c2d3e4f5a6b", "Basic data")
    assemble_gpt(raw, [part], disk_guid="0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6")
    qcow2 = work / "win.qcow2"
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(qcow2)], check=True)

    report = inspect_image(qcow2, ImageOptions())
    assert report.inventory is not None and report.inventory.os is not None
    assert (report.inventory.os.family, report.inventory.os.hostname) == (
        "windows",
        "WIN-VMGUARD01",
    )
    (partition,) = report.inventory.partitions
    assert (partition.filesystem, partition.label, partition.mountpoint) == ("ntfs", "OS", "/")

    guest = open_guest(qcow2, ImageOptions())
    assert guest.layout.guestfs is not None
    files = [p for p in windows_root.rglob("*") if p.is_file()]
    for path in files:
        guest_path = "/" + path.relative_to(windows_root).as_posix()
        assert guest.layout.guestfs.read_file(guest_path, 1 << 30) == path.read_bytes()

    scanned = scan_image(qcow2, ScanOptions(deleted=True, workers=1))
    found = {(f.rule_id, f.location.path, f.location.area.value) for f in scanned.findings}
    assert ("secret.aws-access-key", "/Users/alice/.aws/credentials", "file") in found
    remnants = [f for f in scanned.findings if f.location.area.value == "unallocated"]
    assert any(f.rule_id == "secret.private-key" and f.location.partition == 1 for f in remnants)
    assert all(key.decode().splitlines()[1] not in f.evidence for f in scanned.findings)


class _CountingView(DirView):
    """A DirView that counts whole-file reads per path."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads: dict[str, int] = {}

    def read_file(self, path: str, max_bytes: int) -> bytes | None:
        self.reads[path] = self.reads.get(path, 0) + 1
        return super().read_file(path, max_bytes)


def test_each_hive_is_read_once_per_guest(windows_root: Path) -> None:
    """inspect's facts and every Windows check share the opened hives of one view."""
    from vmguard.checks.winaccounts import WindowsAccounts
    from vmguard.checks.winsettings import WindowsSettings
    from vmguard.guest.inspect import gather_guest_facts

    view = _CountingView(windows_root)
    facts = gather_guest_facts(view)
    assert facts.os.version == "10.0.19045"
    for check in (WindowsSettings(), WindowsAccounts()):
        list(check.check(view, facts))
    config = "/WINDOWS/system32/Config"
    assert view.reads[f"{config}/software"] == 1
    assert view.reads[f"{config}/SYSTEM"] == 1
    other = _CountingView(windows_root)  # another guest view reads its own
    list(WindowsSettings().check(other, facts))
    assert other.reads[f"{config}/software"] == 1
