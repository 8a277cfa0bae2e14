"""NTFS metadata files are filesystem structure, not guest files; partitions that hold no
filesystem by design are named by role, not reported as errors."""

from __future__ import annotations

import json
from pathlib import Path

from vmguard.inspection import ImageOptions, inspect_image, open_guest
from vmguard.scanning import ScanOptions, scan_image
from windowsimage import convert, windows_disk

KEY_ID = "AKIA" + "Z7QW3ERT5YUI2OPA"


def test_small_file_reported_once_and_system_files_not_walked(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "Users/alice").mkdir(parents=True)
    (tree / "Windows/System32/config").mkdir(parents=True)
    (tree / "Users/alice/token.txt").write_text(f"key id {KEY_ID}\n")  # resident in $MFT
    (tree / "$Recycle.Bin").mkdir()  # a "$" name that is a guest directory
    disk = convert(windows_disk(tree, tmp_path), "qcow2")

    report = scan_image(disk, ScanOptions(workers=1))
    paths = {f.location.path for f in report.findings if f.rule_id.startswith("secret.")}
    assert paths == {"/Users/alice/token.txt"}
    guest = open_guest(disk, ImageOptions())
    assert guest.layout.guestfs is not None
    names = guest.layout.guestfs.list_dir("/") or []
    assert "$Recycle.Bin" in names and "Users" in names
    assert not {"$MFT", "$LogFile", "$Bitmap", "$Secure", "$Extend", "$UpCase"} & set(names)
    assert guest.layout.guestfs.stat("/$MFT") is None


def test_reserved_partition_is_a_role_not_an_error(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "Windows/System32/config").mkdir(parents=True)
    disk = convert(windows_disk(tree, tmp_path), "vhdx")
    report = inspect_image(disk, ImageOptions())
    assert report.inventory is not None
    roles = [(p.index, p.role, p.filesystem) for p in report.inventory.partitions]
    assert roles == [
        (1, "EFI system", "vfat"),
        (2, "Microsoft reserved", None),
        (3, "basic data", "ntfs"),
    ]
    assert not [e for e in report.errors if "partition 2" in e.where]
    partitions = report.inventory.to_json()["partitions"]
    assert json.loads(json.dumps(partitions))[1]["role"] == "Microsoft reserved"
