"""Windows-style disks for tests, built with real tools: GPT (sfdisk) holding an EFI system
partition (mkfs.vfat + mtools), a Microsoft reserved partition (no filesystem, as Windows
leaves it) and an NTFS volume (mkntfs) filled through ntfs-3g over FUSE. Converted with
qemu-img like any other test image. The NTFS volume is the test's own, never a stranger's.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from vmguard.demo.imagebuild import PartitionSpec, assemble_gpt, make_vfat

MiB = 1024 * 1024
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
MSR_TYPE = "E3C9E316-0B5C-4DB8-817D-F92DF00215AE"
BASIC_DATA_TYPE = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"


def make_ntfs(tree: Path, image: Path, size: int, *, label: str = "OS") -> None:
    """An NTFS filesystem (mkntfs) holding a copy of ``tree``, written through ntfs-3g."""
    with open(image, "wb") as fh:
        fh.truncate(size)
    subprocess.run(["mkntfs", "-q", "-F", "-Q", "-L", label, str(image)], check=True)
    mountpoint = image.with_suffix(".mnt")
    mountpoint.mkdir()
    mounted = subprocess.run(["ntfs-3g", str(image), str(mountpoint)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"ntfs-3g cannot mount here (FUSE): {mounted.stderr.decode()[:200]}")
    try:
        shutil.copytree(tree, mountpoint, dirs_exist_ok=True, symlinks=True)
        subprocess.run(["sync"], check=True)
    finally:
        subprocess.run(["umount", str(mountpoint)], check=True)
        mountpoint.rmdir()


def windows_disk(tree: Path, work: Path, *, size: int = 128 * MiB) -> Path:
    """A raw GPT disk laid out as Windows Setup lays it out: ESP, MSR, then C: (``tree``)."""
    esp_tree = work / "esp-tree"
    (esp_tree / "EFI/Microsoft/Boot").mkdir(parents=True)
    (esp_tree / "EFI/Microsoft/Boot/BCD").write_bytes(b"regf" + bytes(60))
    esp = work / "esp.img"
    make_vfat(esp, esp_tree, 34 * MiB, label="SYSTEM", serial="5EC0FFEE")
    msr = work / "msr.img"
    with open(msr, "wb") as fh:
        fh.truncate(16 * MiB)
    ntfs = work / "c.img"
    make_ntfs(tree, ntfs, size)
    raw = work / "windows.raw"
    assemble_gpt(
        raw,
        [
            PartitionSpec(esp, ESP_TYPE, "0b5e8c4a-1d2e-4f30-8a41-b52c63d74e85", "EFI system"),
            PartitionSpec(msr, MSR_TYPE, "1c6f9d5b-2e3f-4041-9b52-c63d74e85f96", "MSR"),
            PartitionSpec(ntfs, BASIC_DATA_TYPE, "2d70ae6c-3f40-4152-ac63-d74e85f96a07", "C"),
        ],
        disk_guid="3e81bf7d-4051-4263-bd74-e85f96a07b18",
    )
    return raw


def convert(raw: Path, fmt: str) -> Path:
    """``qemu-img convert`` of ``raw`` into ``fmt`` (qcow2, vhdx, ...)."""
    out = raw.with_suffix(f".{fmt}")
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", fmt, str(raw), str(out)], check=True)
    return out
