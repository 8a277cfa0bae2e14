"""Every filesystem or volume member vmguard does not read is named as ``blkid -p`` names
it (issue 14): each is made by its real tool and compared with blkid's TYPE."""

from __future__ import annotations

import shutil
import struct
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from blkidtool import blkid_type
from vmguard.disk.filesystems import detect_filesystem
from vmguard.disk.source import FileSource
from vmguard.inspection import ImageOptions, inspect_image

MIB = 1 << 20


def _blank(path: Path, size: int = 160 * MIB) -> Path:
    with path.open("wb") as f:
        f.truncate(size)
    return path


def _tree(tmp: Path) -> Path:
    tree = tmp / "tree"
    tree.mkdir(exist_ok=True)
    (tree / "hello.txt").write_text("hello\n")
    return tree


Maker = Callable[[Path, Path], list[str]]
"""(image path, source tree) -> the command that makes the image."""

MAKERS: dict[str, tuple[str, Maker]] = {
    "swap": ("mkswap", lambda p, t: ["mkswap", str(_blank(p))]),
    "swap-64k-pages": ("mkswap", lambda p, t: ["mkswap", "-p", "65536", str(_blank(p))]),
    "jbd": ("mke2fs", lambda p, t: ["mke2fs", "-F", "-q", "-O", "journal_dev", str(_blank(p))]),
    "squashfs": ("mksquashfs", lambda p, t: ["mksquashfs", str(t), str(p), "-quiet", "-noappend"]),
    "iso9660": (
        "xorriso",
        lambda p, t: ["xorriso", "-as", "mkisofs", "-quiet", "-o", str(p), str(t)],
    ),
    "udf": ("mkudffs", lambda p, t: ["mkudffs", str(_blank(p))]),
    "f2fs": ("mkfs.f2fs", lambda p, t: ["mkfs.f2fs", "-q", str(_blank(p))]),
    "erofs": ("mkfs.erofs", lambda p, t: ["mkfs.erofs", str(p), str(t)]),
    "exfat": ("mkfs.exfat", lambda p, t: ["mkfs.exfat", str(_blank(p))]),
    "jfs": ("mkfs.jfs", lambda p, t: ["mkfs.jfs", "-q", str(_blank(p))]),
    "nilfs2": ("mkfs.nilfs2", lambda p, t: ["mkfs.nilfs2", "-q", str(_blank(p))]),
    "reiserfs": ("mkfs.reiserfs", lambda p, t: ["mkfs.reiserfs", "-q", "-f", str(_blank(p))]),
    "cramfs": ("mkfs.cramfs", lambda p, t: ["mkfs.cramfs", str(t), str(p)]),
    "bcache-backing": ("make-bcache", lambda p, t: ["make-bcache", "-B", str(_blank(p))]),
    "bcache-cache": ("make-bcache", lambda p, t: ["make-bcache", "-C", str(_blank(p))]),
    "minix-v1": ("mkfs.minix", lambda p, t: ["mkfs.minix", "-1", str(_blank(p, 32 * MIB))]),
    "minix-v2": ("mkfs.minix", lambda p, t: ["mkfs.minix", "-2", str(_blank(p, 32 * MIB))]),
    "minix-v3": ("mkfs.minix", lambda p, t: ["mkfs.minix", "-3", str(_blank(p, 32 * MIB))]),
    "bfs": ("mkfs.bfs", lambda p, t: ["mkfs.bfs", str(_blank(p, 8 * MIB))]),
    "romfs": (
        "genromfs",
        lambda p, t: ["sh", "-c", f"genromfs -d '{t}' -f '{p}' && truncate -s 1M '{p}'"],
    ),
    "ubifs": (
        "mkfs.ubifs",
        lambda p, t: [
            "mkfs.ubifs",
            "-r",
            str(t),
            "-m",
            "2048",
            "-e",
            "129024",
            "-c",
            "100",
            "-o",
            str(p),
        ],
    ),
    "ufs1": ("makefs", lambda p, t: ["makefs", "-t", "ffs", "-s", "4m", str(p), str(t)]),
    "ufs2": (
        "makefs",
        lambda p, t: ["makefs", "-t", "ffs", "-o", "version=2", "-s", "4m", str(p), str(t)],
    ),
    "ocfs2": ("mkfs.ocfs2", lambda p, t: ["mkfs.ocfs2", "-q", "-F", str(_blank(p))]),
    "gfs2": ("mkfs.gfs2", lambda p, t: ["mkfs.gfs2", "-O", "-p", "lock_nolock", str(_blank(p))]),
    "reiser4": (
        "mkfs.reiser4",
        lambda p, t: ["mkfs.reiser4", "-y", "-f", str(_blank(p, 64 * MIB))],
    ),
    "apfs": ("mkapfs", lambda p, t: ["mkapfs", str(_blank(p, 1024 * MIB))]),
    "verity-hash": (
        "veritysetup",
        lambda p, t: [
            "veritysetup",
            "format",
            str(_blank(p.with_suffix(".data"), 8 * MIB)),
            str(_blank(p, MIB)),
        ],
    ),
}


def make(name: str, tmp: Path) -> Path:
    tool, maker = MAKERS[name]
    if shutil.which(tool) is None or shutil.which("blkid") is None:
        pytest.skip(f"needs {tool} and blkid")
    img = tmp / f"{name}.img"
    subprocess.run(maker(img, _tree(tmp)), check=True, capture_output=True)
    return img


@pytest.mark.parametrize("name", list(MAKERS))
def test_named_like_blkid(tmp_path: Path, name: str) -> None:
    img = make(name, tmp_path)
    expected = blkid_type(img)
    assert expected, f"blkid does not recognise the {name} image"
    assert detect_filesystem(FileSource(img)).kind == expected
    if expected == "iso9660":
        return  # a bare ISO file is refused as installation media; see the partition test
    report = inspect_image(img, ImageOptions())
    assert report.inventory is not None
    (part,) = report.inventory.partitions
    assert (part.filesystem, part.mountpoint) == (expected, None)
    messages = [e.reason for e in report.errors]
    if expected != "swap":
        assert any(m.startswith(f"unsupported filesystem {expected}") for m in messages)


def test_iso9660_inside_a_partition(tmp_path: Path) -> None:
    """An ISO 9660 filesystem dd'd into an MBR partition: named, not refused as a disk."""
    if shutil.which("sfdisk") is None:
        pytest.skip("needs sfdisk")
    iso = make("iso9660", tmp_path)
    disk = _blank(tmp_path / "disk.img", 16 * MIB)
    subprocess.run(["sfdisk", "-q", str(disk)], input="label: dos\nstart=2048, type=83\n",
                   text=True, check=True)  # fmt: skip
    with disk.open("r+b") as f:
        f.seek(MIB)
        f.write(iso.read_bytes())
    report = inspect_image(disk, ImageOptions())
    assert report.inventory is not None
    (part,) = report.inventory.partitions
    assert (part.scheme, part.filesystem) == ("mbr", "iso9660")


def test_lvm_physical_volume_in_no_group(tmp_path: Path) -> None:
    """pvcreate alone (on a loop device): an LVM2_member with no volume group."""
    if shutil.which("losetup") is None or shutil.which("pvcreate") is None:
        pytest.skip("needs losetup and lvm2")
    img = _blank(tmp_path / "pv.img", 16 * MIB)
    try:
        loop = subprocess.run(["losetup", "-f", "--show", str(img)], capture_output=True,
                              text=True, check=True).stdout.strip()  # fmt: skip
    except subprocess.CalledProcessError as err:
        pytest.skip(f"loop devices unavailable: {err.stderr}")
    try:
        subprocess.run(["pvcreate", "-q", "--driverloaded", "n", "--devices", loop, loop],
                       check=True, capture_output=True)  # fmt: skip
    finally:
        subprocess.run(["losetup", "-d", loop], check=False)
    assert blkid_type(img) == "LVM2_member"
    assert detect_filesystem(FileSource(img)).kind == "LVM2_member"


def md_superblock_1x(data_sectors: int, super_offset: int, data_offset: int) -> bytes:
    """An md 1.x superblock of a 2-disk RAID1 member (Linux md-p.h layout, checksummed)."""
    sb = bytearray(256 + 2 * 2)
    struct.pack_into("<II", sb, 0, 0xA92B4EFC, 1)
    sb[16:32] = uuid.UUID("5a1e0c4d-1b7e-4d2a-9c55-0123456789ab").bytes
    sb[32:41] = b"vault:md0"
    struct.pack_into("<QIIQII", sb, 64, 1_700_000_000, 1, 0, data_sectors, 0, 2)
    struct.pack_into("<QQQ", sb, 128, data_offset, data_sectors, super_offset)
    sb[168:184] = uuid.UUID(int=1).bytes
    struct.pack_into("<QQQ", sb, 192, 1_700_000_000, 1, (1 << 64) - 1)
    struct.pack_into("<I", sb, 220, 2)
    struct.pack_into("<HH", sb, 256, 0, 1)
    total = sum(struct.unpack_from(f"<{len(sb) // 4}I", sb))
    struct.pack_into("<I", sb, 216, ((total & 0xFFFFFFFF) + (total >> 32)) & 0xFFFFFFFF)
    return bytes(sb)


def md_superblock_090(array_kib: int) -> bytes:
    """An md 0.90 superblock of a 2-disk RAID1 member (1024 words, checksummed)."""
    sb = bytearray(4096)
    words = {0: 0xA92B4EFC, 2: 90, 5: 0x11111111, 6: 1_700_000_000, 7: 1, 8: array_kib,
             9: 2, 10: 2, 13: 0x22222222, 14: 0x33333333, 15: 0x44444444,
             32: 1_700_000_000, 33: 1, 34: 2, 35: 2, 40: 1}  # fmt: skip
    for disk in range(2):  # disks[] at word 128, this disk's copy at word 992
        words |= {128 + 32 * disk: disk, 128 + 32 * disk + 3: disk, 128 + 32 * disk + 4: 6}
    words |= {992: 0, 995: 0, 996: 6}
    for index, value in words.items():
        struct.pack_into("<I", sb, 4 * index, value)
    total = sum(struct.unpack_from("<1024I", sb))
    struct.pack_into("<I", sb, 4 * 38, ((total & 0xFFFFFFFF) + (total >> 32)) & 0xFFFFFFFF)
    return bytes(sb)


@pytest.mark.parametrize("metadata", ["1.2", "1.0", "0.90"])
def test_md_raid_member(tmp_path: Path, metadata: str) -> None:
    """mdadm cannot create an array without the kernel's md driver, so the member's
    superblock is written from md's published layout, then checked by ``mdadm --examine``
    and ``blkid -p``. A 1.0 member keeps its superblock at the end, the RAID1's ext4 at 0:
    named as a member all the same, as blkid names it."""
    if shutil.which("mdadm") is None or shutil.which("mkfs.ext4") is None:
        pytest.skip("needs mdadm and mkfs.ext4")
    img = _blank(tmp_path / "member.img", 32 * MIB)
    sectors = 32 * MIB // 512
    superblock = b""
    if metadata == "1.2":
        at, data_offset = 4096, 2048
    elif metadata == "0.90":
        at, data_offset = (32 * MIB & ~0xFFFF) - 0x10000, 0
        superblock = md_superblock_090(at // 1024)
    else:
        subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(_tree(tmp_path)), str(img), "30M"],
                       check=True, capture_output=True)  # fmt: skip
        at, data_offset = ((sectors - 16) & ~7) * 512, 0
    with img.open("r+b") as f:
        f.seek(at)
        f.write(superblock or md_superblock_1x(sectors - 2048, at // 512, data_offset))
    examined = subprocess.run(["mdadm", "--examine", str(img)], capture_output=True, text=True)
    assert f"Version : {metadata}" in examined.stdout
    assert "correct" in examined.stdout  # mdadm verified the checksum
    assert blkid_type(img) == "linux_raid_member"
    assert detect_filesystem(FileSource(img)).kind == "linux_raid_member"
    report = inspect_image(img, ImageOptions())
    assert report.inventory is not None
    (part,) = report.inventory.partitions
    assert part.filesystem == "linux_raid_member"
    assert report.errors[0].reason.startswith("unsupported filesystem linux_raid_member")
