"""Build real guest disk images with real tools, for tests and the benchmarks.

A Debian root comes from debootstrap (cached between runs, rebuilt when missing); layouts
are made with sfdisk, mkfs.ext4 -d, mkfs.xfs -p (prototype file), mkfs.vfat + mtools, and
converted with qemu-img. Nothing here is mocked: what vmguard reads is what the tools wrote.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vmguard.demo.imagebuild import (
    ESP_TYPE,
    LINUX_TYPE,
    PartitionSpec,
    assemble_gpt,
    make_ext4,
    make_vfat,
    make_xfs,
    qemu_convert,
    run_tool,
)

MiB = 1024 * 1024
CACHE = Path(os.environ.get("VMGUARD_TEST_CACHE", Path.home() / ".cache" / "vmguard-tests"))
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("VMGUARD_DEBIAN_MIRROR", "http://deb.debian.org/debian")

ROOT_UUID = "6a0b6c1e-2f3d-4c5b-9a8e-1f2e3d4c5b6a"
HOME_UUID = "0d7c2a9e-5b4f-4e3d-8c2b-9a1f0e7d6c5b"
ESP_SERIAL = "1234ABCD"
ROOT_PARTUUID = "c6f0a7d2-1b3e-4f5a-8d9c-0e1f2a3b4c5d"
HOME_PARTUUID = "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b"
DISK_GUID = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"


def run(*cmd: str | Path, input: bytes | None = None) -> bytes:
    """Run a tool, failing loudly with its stderr."""
    return run_tool(*cmd, stdin=input)


def debian_rootfs() -> Path:
    """A debootstrapped Debian minbase tree, built once and cached."""
    target = CACHE / f"debian-{DEBIAN_SUITE}-minbase"
    done = target / ".vmguard-complete"
    if done.exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    run("debootstrap", "--variant=minbase", DEBIAN_SUITE, target, DEBIAN_MIRROR)
    # Clean apt caches so the tree is what a published image would carry.
    for cached in (target / "var/cache/apt/archives").glob("*.deb"):
        cached.unlink()
    done.write_text("ok\n")
    return target


def copy_tree(src: Path, dst: Path) -> Path:
    """Copy a rootfs preserving owners, modes and links (cp -a)."""
    run("cp", "-a", f"{src}/.", dst)
    return dst


@dataclass(frozen=True)
class GuestDisk:
    """A built raw disk and what it was built from."""

    raw: Path
    root_tree: Path
    home_tree: Path
    esp_tree: Path


def build_debian_disk(workdir: Path, *, plant: bool = True) -> GuestDisk:
    """A GPT disk: ESP (FAT32, /boot/efi), root (ext4), /home (XFS), mounted by fstab."""
    root = workdir / "root"
    root.mkdir()
    copy_tree(debian_rootfs(), root)
    (root / "etc/hostname").write_text("vmguard-test\n")
    (root / "etc/fstab").write_text(
        f"# /etc/fstab: static file system information.\n"
        f"UUID={ROOT_UUID} / ext4 errors=remount-ro 0 1\n"
        f"PARTUUID={HOME_PARTUUID} /home xfs defaults 0 2\n"
        f"UUID={ESP_SERIAL[:4]}-{ESP_SERIAL[4:]} /boot/efi vfat umask=0077 0 1\n"
        f"/dev/sr0 /media/cdrom0 udf,iso9660 user,noauto 0 0\n"
        f"tmpfs /tmp tmpfs defaults 0 0\n"
    )
    (root / "boot/efi").mkdir(parents=True, exist_ok=True)
    run("useradd", "-R", root, "-m", "-s", "/bin/bash", "-u", "1000", "alice")
    run("chpasswd", "-R", root, input=b"alice:correct-horse-battery\n")
    home = workdir / "home"
    shutil.move(str(root / "home"), home)
    (root / "home").mkdir()
    esp = workdir / "esp"
    (esp / "EFI/debian").mkdir(parents=True)
    (esp / "EFI/debian/grub.cfg").write_text("search.fs_uuid " + ROOT_UUID + " root\n")
    if plant:
        ssh = home / "alice/.ssh"
        ssh.mkdir(mode=0o700)
        (ssh / "authorized_keys").write_text(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx0Yc9p3v1p0M0yI9ZL2mT1m6a0n0b7c8d9e0f1a2b3"
            " alice@build\n"
        )
        os.chown(ssh, 1000, 1000)
    esp_img, root_img, home_img = workdir / "esp.img", workdir / "root.img", workdir / "home.img"
    make_vfat(esp_img, esp, 40 * MiB, label="ESP", serial=ESP_SERIAL)
    make_ext4(root_img, root, 640 * MiB, label="rootfs", fs_uuid=ROOT_UUID)
    make_xfs(home_img, home, 320 * MiB, label="home", fs_uuid=HOME_UUID)
    raw = workdir / "debian.raw"
    assemble_gpt(
        raw,
        [
            PartitionSpec(esp_img, ESP_TYPE, str(uuid.UUID(int=1)), "EFI"),
            PartitionSpec(root_img, LINUX_TYPE, ROOT_PARTUUID, "root"),
            PartitionSpec(home_img, LINUX_TYPE, HOME_PARTUUID, "home"),
        ],
        disk_guid=DISK_GUID,
    )
    for image in (esp_img, root_img, home_img):
        image.unlink()
    return GuestDisk(raw, root, home, esp)


CONVERSIONS: dict[str, list[str]] = {
    "qcow2": ["-O", "qcow2"],
    "qcow2-compressed": ["-c", "-O", "qcow2"],
    "qcow2-v2": ["-O", "qcow2", "-o", "compat=0.10"],
    "vmdk-monolithicSparse": ["-O", "vmdk", "-o", "subformat=monolithicSparse"],
    "vmdk-streamOptimized": ["-O", "vmdk", "-o", "subformat=streamOptimized"],
    "vmdk-twoGbMaxExtentSparse": ["-O", "vmdk", "-o", "subformat=twoGbMaxExtentSparse"],
    "vmdk-monolithicFlat": ["-O", "vmdk", "-o", "subformat=monolithicFlat"],
    "vhd-fixed": ["-O", "vpc", "-o", "subformat=fixed,force_size=on"],
    "vhd-dynamic": ["-O", "vpc", "-o", "subformat=dynamic"],
    "vhdx": ["-O", "vhdx"],
}

SUFFIX = {"qcow2": ".qcow2", "vmdk": ".vmdk", "vhd": ".vhd", "vhdx": ".vhdx"}


def convert(raw: Path, variant: str, outdir: Path) -> Path:
    """``qemu-img convert`` the raw disk into one format variant."""
    base = variant.split("-", maxsplit=1)[0]
    out = outdir / f"disk-{variant}{SUFFIX[base]}"
    if not out.exists():
        qemu_convert(raw, out, *CONVERSIONS[variant])
    return out


def make_ova(disk_vmdk: Path, out: Path) -> Path:
    """An OVA (tar: OVF first, then the disk) around a streamOptimized VMDK."""
    ovf = out.with_suffix(".ovf")
    ovf.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" '
        'xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">\n'
        f'  <References><File ovf:href="{disk_vmdk.name}" ovf:id="file1"/></References>\n'
        "  <DiskSection><Info>disks</Info>"
        '<Disk ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:capacity="1"/></DiskSection>\n'
        '  <VirtualSystem ovf:id="vm"><Info>vm</Info></VirtualSystem>\n'
        "</Envelope>\n"
    )
    run("tar", "-cf", out, "-C", ovf.parent, ovf.name, disk_vmdk.name)
    return out


def _factory_key(extra: tuple[Path, ...]) -> str:
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for path in extra:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cached(name: str, build: Callable[[Path], object], *, sources: tuple[Path, ...] = ()) -> Path:
    """A directory built once per factory version and shared by test workers (file lock).

    ``sources`` are further files whose content is part of the version (the builder's own).
    """
    target = CACHE / f"{name}-{_factory_key(sources)}"
    for stale in CACHE.glob(f"{name}-*"):
        # Older builds of the same fixture: gigabytes of images nobody will read again.
        if stale != target and not stale.name.endswith(".building"):
            shutil.rmtree(stale, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".complete").exists():
            if target.exists():
                shutil.rmtree(target)
            work = target.with_name(target.name + ".building")
            if work.exists():
                shutil.rmtree(work)
            work.mkdir()
            build(work)
            (work / ".complete").write_text("ok\n")
            work.rename(target)
    return target


def debian_disk_dir() -> Path:
    """The cached Debian GPT disk (raw) and its source trees."""
    return cached("debian-disk", lambda work: build_debian_disk(work))
