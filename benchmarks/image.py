"""Build and cache the benchmark image: a debootstrapped Debian on GPT, converted to qcow2.

The tree is minbase plus a few dozen common packages (systemd, openssh-server, python3,
perl, git, ...) so that a walk meets ~15k regular files, as a real server image would.
The disk uses the same layout as the test images (tests/guestimages.py): ESP (FAT32,
/boot/efi), root (ext4), /home (XFS), mounted by fstab, built with the same functions.

Both the debootstrapped tree and the disk are cached under the test cache directory
(``VMGUARD_TEST_CACHE``, default ~/.cache/vmguard-tests) and rebuilt only when the package
list or the image factory changes. Run alone to build and print the image path.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from vmguard.demo.imagebuild import (
    ESP_TYPE,
    LINUX_TYPE,
    PartitionSpec,
    assemble_gpt,
    make_ext4,
    make_vfat,
    make_xfs,
)

# tests/ is not a package: its image factory is reused by path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import guestimages as gi

EXTRA_PACKAGES: tuple[str, ...] = (
    "systemd",
    "systemd-sysv",
    "udev",
    "dbus",
    "openssh-server",
    "sudo",
    "python3",
    "python3-yaml",
    "python3-requests",
    "perl",
    "git",
    "curl",
    "wget",
    "ca-certificates",
    "gnupg",
    "vim",
    "less",
    "iproute2",
    "iputils-ping",
    "ifupdown",
    "isc-dhcp-client",
    "netbase",
    "locales",
    "man-db",
    "rsyslog",
    "cron",
    "logrotate",
    "kmod",
    "procps",
    "bash-completion",
    "apt-utils",
    "openssl",
    "rsync",
    "file",
    "lsof",
    "strace",
)
"""Packages added to minbase; chosen to look like a small server, not to be exhaustive."""

ESP_SIZE = 40 * gi.MiB
HOME_SIZE = 320 * gi.MiB  # mkfs.xfs refuses anything under 300 MiB


def _key(*parts: str) -> str:
    """A short stable digest naming a cache entry."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def _unmount_below(path: Path) -> None:
    """Unmount whatever an interrupted debootstrap left mounted under ``path`` (proc, sys, dev).

    Deleting a stale tree must never descend into a live /proc or a bind-mounted host /dev.
    """
    prefix = str(path.resolve()) + "/"
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1] for line in mounts]
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        gi.run("umount", "-l", point)


def _build_once(target: Path, build: Callable[[Path], None]) -> Path:
    """Build ``target`` under a lock, in a side directory renamed into place when complete."""
    gi.CACHE.mkdir(parents=True, exist_ok=True)
    with open(gi.CACHE / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".vmguard-complete").exists():
            work = target.with_name(target.name + ".building")
            for stale in (target, work):
                if stale.exists():
                    _unmount_below(stale)
                    shutil.rmtree(stale)
            work.mkdir()
            build(work)
            (work / ".vmguard-complete").write_text("ok\n")
            work.rename(target)
    return target


def bench_rootfs() -> Path:
    """The debootstrapped tree (minbase + ``EXTRA_PACKAGES``), built once and cached."""
    target = gi.CACHE / f"debian-{gi.DEBIAN_SUITE}-bench-{_key(*EXTRA_PACKAGES)}"

    def build(work: Path) -> None:
        tree = work / "tree"
        gi.run(
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(EXTRA_PACKAGES)}",
            gi.DEBIAN_SUITE,
            tree,
            gi.DEBIAN_MIRROR,
        )
        # A published image does not carry the downloaded .debs.
        for cached in (tree / "var/cache/apt/archives").glob("*.deb"):
            cached.unlink()

    return _build_once(target, build) / "tree"


def _tree_bytes(tree: Path) -> int:
    """Bytes of regular-file content under ``tree`` (symlinks not followed)."""
    return sum(p.lstat().st_size for p in tree.rglob("*") if p.is_file() and not p.is_symlink())


def build_bench_disk(work: Path, rootfs: Path) -> Path:
    """A GPT raw disk in ``work`` holding ``rootfs``; the layout of ``gi.build_debian_disk``.

    ``gi.build_debian_disk`` always uses the minbase tree and a fixed 640 MiB root, so the
    same steps are repeated here with a root partition sized to the larger tree.
    """
    root = work / "root"
    root.mkdir()
    gi.copy_tree(rootfs, root)
    (root / "etc/hostname").write_text("vmguard-bench\n")
    (root / "etc/fstab").write_text(
        f"UUID={gi.ROOT_UUID} / ext4 errors=remount-ro 0 1\n"
        f"PARTUUID={gi.HOME_PARTUUID} /home xfs defaults 0 2\n"
        f"UUID={gi.ESP_SERIAL[:4]}-{gi.ESP_SERIAL[4:]} /boot/efi vfat umask=0077 0 1\n"
    )
    (root / "boot/efi").mkdir(parents=True, exist_ok=True)
    gi.run("useradd", "-R", root, "-m", "-s", "/bin/bash", "-u", "1000", "alice")
    home = work / "home"
    shutil.move(str(root / "home"), home)
    (root / "home").mkdir()
    esp = work / "esp"
    (esp / "EFI/debian").mkdir(parents=True)
    (esp / "EFI/debian/grub.cfg").write_text(f"search.fs_uuid {gi.ROOT_UUID} root\n")

    # ext4 metadata, inode tables and a journal need room beyond the content itself.
    root_size = (_tree_bytes(root) * 3 // 2 + 256 * gi.MiB) // gi.MiB * gi.MiB
    images = work / "esp.img", work / "root.img", work / "home.img"
    make_vfat(images[0], esp, ESP_SIZE, label="ESP", serial=gi.ESP_SERIAL)
    make_ext4(images[1], root, root_size, label="rootfs", fs_uuid=gi.ROOT_UUID)
    make_xfs(images[2], home, HOME_SIZE, label="home", fs_uuid=gi.HOME_UUID)
    raw = work / "debian.raw"
    assemble_gpt(
        raw,
        [
            PartitionSpec(images[0], ESP_TYPE, str(uuid.UUID(int=1)), "EFI"),
            PartitionSpec(images[1], LINUX_TYPE, gi.ROOT_PARTUUID, "root"),
            PartitionSpec(images[2], LINUX_TYPE, gi.HOME_PARTUUID, "home"),
        ],
        disk_guid=gi.DISK_GUID,
    )
    for image in images:
        image.unlink()
    shutil.rmtree(root)
    shutil.rmtree(home)
    shutil.rmtree(esp)
    return raw


def bench_image() -> Path:
    """The benchmark qcow2 (uncompressed), built once per package list and factory version."""
    rootfs = bench_rootfs()
    factory = hashlib.sha256(Path(gi.__file__).read_bytes() + Path(__file__).read_bytes())
    target = gi.CACHE / f"bench-disk-{_key(rootfs.parent.name, factory.hexdigest())}"

    def build(work: Path) -> None:
        raw = build_bench_disk(work, rootfs)
        gi.convert(raw, "qcow2", work)
        raw.unlink()

    image = _build_once(target, build) / "disk-qcow2.qcow2"
    # Each change of factory or package list leaves a ~550 MB image behind; keep one.
    for stale in gi.CACHE.glob("bench-disk-*"):
        if stale != target and not stale.name.endswith(".building"):
            shutil.rmtree(stale)
    return image


BTRFS_UUID = "3e8f2a1c-7b6d-4c5e-9f0a-b7f5be5c1e4d"


def build_bench_btrfs_disk(work: Path, rootfs: Path) -> Path:
    """A GPT raw disk in ``work`` whose one partition is ``rootfs`` on btrfs (mkfs.btrfs
    --rootdir, nothing mounted): the same tree as the ext4 benchmark disk."""
    root = work / "root"
    root.mkdir()
    gi.copy_tree(rootfs, root)
    (root / "etc/hostname").write_text("vmguard-bench-btrfs\n")
    (root / "etc/fstab").write_text(f"UUID={BTRFS_UUID} / btrfs defaults 0 0\n")
    size = (_tree_bytes(root) * 3 // 2 + 256 * gi.MiB) // gi.MiB * gi.MiB
    fs = work / "root.img"
    with open(fs, "wb") as f:
        f.truncate(size)
    gi.run("mkfs.btrfs", "-q", "-U", BTRFS_UUID, "-L", "rootfs", "--rootdir", root, fs)
    raw = work / "debian-btrfs.raw"
    assemble_gpt(
        raw, [PartitionSpec(fs, LINUX_TYPE, gi.ROOT_PARTUUID, "root")], disk_guid=gi.DISK_GUID
    )
    fs.unlink()
    shutil.rmtree(root)
    return raw


def bench_btrfs_image() -> Path:
    """The benchmark tree on btrfs, as a qcow2 (uncompressed), built once and cached."""
    rootfs = bench_rootfs()
    factory = hashlib.sha256(Path(gi.__file__).read_bytes() + Path(__file__).read_bytes())
    target = gi.CACHE / f"bench-btrfs-{_key(rootfs.parent.name, factory.hexdigest())}"

    def build(work: Path) -> None:
        raw = build_bench_btrfs_disk(work, rootfs)
        gi.convert(raw, "qcow2", work)
        raw.unlink()

    image = _build_once(target, build) / "disk-qcow2.qcow2"
    for stale in gi.CACHE.glob("bench-btrfs-*"):
        if stale != target and not stale.name.endswith(".building"):
            shutil.rmtree(stale)
    return image


def main() -> int:
    """Build (or find) the benchmark image and print its path."""
    print(bench_image())
    return 0


if __name__ == "__main__":
    sys.exit(main())
