"""The signatures that need more than a magic number (issue 14), each compared with
``blkid -p``: an XFS external log made by ``mkfs.xfs -l logdev=``, and, where no tool that
makes them exists on Linux here (no zpool without the ZFS kernel module, no hfsprogs in
Debian 12, no stratisd, vdo, ReFS or VMFS formatter), volumes whose headers are written from
the on-disk format facts, with blkid as the independent reader that says the builder is
right."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import google_crc32c
import pytest

from vmguard.demo.imagebuild import make_xfs, xfs_protofile
from vmguard.disk.filesystems import detect_filesystem
from vmguard.disk.source import FileSource
from vmguard.inspection import ImageOptions, inspect_image

MIB = 1 << 20


def blkid(path: Path, tag: str = "TYPE") -> str:
    if shutil.which("blkid") is None:
        pytest.skip("needs blkid")
    out = subprocess.run(["blkid", "-p", "-o", "value", "-s", tag, str(path)],
                         capture_output=True, text=True)  # fmt: skip
    return out.stdout.strip()


def _blank(path: Path, size: int) -> Path:
    with path.open("wb") as f:
        f.truncate(size)
    return path


def _write(path: Path, at: int, data: bytes) -> None:
    with path.open("r+b") as f:
        f.seek(at)
        f.write(data)


def _named(path: Path) -> str:
    return detect_filesystem(FileSource(path)).kind


def test_xfs_external_log_is_named_and_the_data_device_read(tmp_path: Path) -> None:
    if shutil.which("mkfs.xfs") is None:
        pytest.skip("needs mkfs.xfs")
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "fstab").write_text("/dev/sda1 / xfs logdev=/dev/sdb1 0 1\n")
    (tree / "etc" / "os-release").write_text("ID=debian\nVERSION_ID=12\n")
    (tree / "etc" / "hostname").write_text("logged\n")
    log = _blank(tmp_path / "log.img", 64 * MIB)
    data = tmp_path / "data.img"
    proto = tmp_path / "proto.txt"
    proto.write_text(xfs_protofile(tree))
    _blank(data, 320 * MIB)
    subprocess.run(["mkfs.xfs", "-q", "-f", "-l", f"logdev={log},size=64m", "-p", str(proto),
                    str(data)], check=True, capture_output=True)  # fmt: skip
    assert (blkid(log), blkid(data)) == ("xfs_external_log", "xfs")
    assert (_named(log), _named(data)) == ("xfs_external_log", "xfs")
    report = inspect_image(log, ImageOptions())
    assert [e.reason for e in report.errors] == [
        "unsupported filesystem xfs_external_log (an XFS external log device: it holds no files)"
    ]
    # The data device is read without its log, as an ext3 without its journal device is.
    report = inspect_image(data, ImageOptions())
    assert report.inventory is not None and report.inventory.os is not None
    assert report.inventory.os.hostname == "logged"


def test_internal_log_xfs_is_not_an_external_log(tmp_path: Path) -> None:
    if shutil.which("mkfs.xfs") is None:
        pytest.skip("needs mkfs.xfs")
    tree = tmp_path / "tree"
    tree.mkdir()
    img = tmp_path / "xfs.img"
    make_xfs(img, tree, 320 * MIB, label="x", fs_uuid="0f0e0d0c-0b0a-4908-8706-050403020100")
    assert _named(img) == blkid(img) == "xfs"


def _nvpair(name: str, kind: int, value: bytes) -> bytes:
    encoded = struct.pack(">I", len(name)) + name.encode().ljust((len(name) + 3) & ~3, b"\0")
    body = encoded + struct.pack(">II", kind, 1) + value
    return struct.pack(">II", 8 + len(body), 8 + len(body)) + body


def zfs_label(pool: str, uberblocks: int) -> bytes:
    """One 256 KiB vdev label: 16 KiB of blank and boot header, the XDR nvlist (encoding 1,
    native little-endian host), then the uberblock ring at 128 KiB (1 KiB slots)."""
    label = bytearray(256 * 1024)
    text = pool.encode()
    nvlist = b"\x01\x01\x00\x00" + struct.pack(">II", 0, 1)  # encoding, version, NV_UNIQUE_NAME
    nvlist += _nvpair("version", 8, struct.pack(">Q", 5000))
    nvlist += _nvpair("name", 9, struct.pack(">I", len(text)) + text.ljust(8, b"\0"))
    nvlist += _nvpair("pool_guid", 8, struct.pack(">Q", 0x1234_5678_9ABC_DEF0))
    nvlist += _nvpair("guid", 8, struct.pack(">Q", 0x0FED_CBA9_8765_4321))
    nvlist += bytes(8)
    label[16 * 1024 : 16 * 1024 + len(nvlist)] = nvlist
    for slot in range(uberblocks):
        at = 128 * 1024 + slot * 1024
        struct.pack_into("<QQQQQ", label, at, 0x00BAB10C, 5000, 4 + slot, 0x2222, 1_700_000_000)
    return bytes(label)


def zfs_member(path: Path, *, per_label: int, size: int = 80 * MIB) -> Path:
    """A pool member's four labels, two at the start and two at the end, as ZFS writes them."""
    _blank(path, size)
    label = zfs_label("tank", per_label)
    for at in (0, 256 * 1024, size - 512 * 1024, size - 256 * 1024):
        _write(path, at, label)
    return path


def test_zfs_member_from_its_labels(tmp_path: Path) -> None:
    img = zfs_member(tmp_path / "zfs.img", per_label=3)
    assert (blkid(img), blkid(img, "LABEL")) == ("zfs_member", "tank")
    assert _named(img) == "zfs_member"
    report = inspect_image(img, ImageOptions())
    assert report.errors[0].reason.startswith("unsupported filesystem zfs_member (a ZFS pool")


def test_zfs_needs_four_uberblocks_like_blkid(tmp_path: Path) -> None:
    """One uberblock per label: blkid counts 4 over the four labels; with only the first
    three labels' worth (the end ones blank) it names nothing, and neither does vmguard."""
    img = zfs_member(tmp_path / "zfs.img", per_label=1)
    assert _named(img) == blkid(img) == "zfs_member"
    _write(img, 80 * MIB - 256 * 1024, bytes(256 * 1024))
    assert _named(img) == blkid(img) == ""


def test_hfs_and_hfsplus_headers(tmp_path: Path) -> None:
    hfsplus = _blank(tmp_path / "hfsplus.img", 8 * MIB)
    header = bytearray(512)
    header[0:2] = b"H+"
    struct.pack_into(">H", header, 2, 4)
    struct.pack_into(">II", header, 40, 4096, 2048)  # block size, total blocks
    _write(hfsplus, 1024, bytes(header))
    hfs = _blank(tmp_path / "hfs.img", 8 * MIB)
    mdb = bytearray(162)
    mdb[0:2] = b"BD"
    struct.pack_into(">HIIH", mdb, 18, 16000, 512, 512, 16)  # blocks, block size, clump, first
    mdb[36:41] = b"\x04disk"
    _write(hfs, 1024, bytes(mdb))
    assert (blkid(hfsplus), blkid(hfs)) == ("hfsplus", "hfs")
    assert (_named(hfsplus), _named(hfs)) == ("hfsplus", "hfs")
    # An HFS wrapper announcing an embedded HFS+ volume that is not there: blkid names
    # nothing, and vmguard does not call it HFS either.
    mdb[124:130] = b"H+" + struct.pack(">HH", 10, 100)
    _write(hfs, 1024, bytes(mdb))
    assert _named(hfs) == blkid(hfs) == ""
    _write(hfs, 16 * 512 + 10 * 512 + 1024, bytes(header))
    assert _named(hfs) == blkid(hfs) == "hfsplus"


def test_swap_holding_a_hibernation_image(tmp_path: Path) -> None:
    """mkswap, then what the kernel writes when it hibernates there: the original signature
    moved 10 bytes down and S1SUSPEND in its place."""
    if shutil.which("mkswap") is None:
        pytest.skip("needs mkswap")
    img = _blank(tmp_path / "swap.img", 16 * MIB)
    subprocess.run(["mkswap", str(img)], check=True, capture_output=True)
    _write(img, 4096 - 20, b"SWAPSPACE2S1SUSPEND\0")
    assert _named(img) == blkid(img) == "swsuspend"


def test_stratis_member(tmp_path: Path) -> None:
    img = _blank(tmp_path / "stratis.img", 16 * MIB)
    block = bytearray(512)
    block[4:20] = b"!Stra0tis\x86\xff\x02^\x41rh"
    struct.pack_into("<Q", block, 20, 16 * MIB // 512)
    block[32:64] = b"0123456789abcdef0123456789abcdef"
    block[64:96] = b"fedcba9876543210fedcba9876543210"
    struct.pack_into("<I", block, 0, google_crc32c.value(bytes(block[4:])))
    _write(img, 9 * 512, bytes(block))  # the second copy only: the first may be torn
    assert _named(img) == blkid(img) == "stratis"
    _write(img, 9 * 512 + 100, b"x")  # a bad checksum is no signature
    assert _named(img) == blkid(img) == ""


def test_vdo_and_squashfs3(tmp_path: Path) -> None:
    vdo = _blank(tmp_path / "vdo.img", 16 * MIB)
    _write(vdo, 0, b"dmvdo001" + bytes(32) + bytes(range(16)))
    assert _named(vdo) == blkid(vdo) == "vdo"
    if shutil.which("mksquashfs") is None:
        pytest.skip("needs mksquashfs")
    (tmp_path / "tree").mkdir()
    squash = tmp_path / "sq.img"
    subprocess.run(["mksquashfs", str(tmp_path / "tree"), str(squash), "-quiet", "-noappend"],
                   check=True, capture_output=True)  # fmt: skip
    assert _named(squash) == blkid(squash) == "squashfs"
    _write(squash, 28, struct.pack("<H", 3))  # a version 3 superblock keeps the magic
    assert _named(squash) == blkid(squash) == "squashfs3"


def test_minix_magic_alone_is_not_minix(tmp_path: Path) -> None:
    img = _blank(tmp_path / "noise.img", 4 * MIB)
    _write(img, 1024 + 16, struct.pack("<H", 0x137F))  # no inode or zone bitmap blocks
    assert _named(img) == blkid(img) == ""


HEADERS: dict[str, list[tuple[int, bytes]]] = {
    "ReFS": [(0, b"\0\0\0ReFS\0" + bytes(8) + b"FSRS")],
    "VMFS_volume_member": [
        (MIB, b"\x0d\xd0\x01\xc0" + struct.pack("<I", 14)),
        (2 * MIB, b"\x5e\xf1\xab\x2f" + struct.pack("<I", 14) + b"\x05"),
    ],
    "VMFS": [(2 * MIB, b"\x5e\xf1\xab\x2f" + struct.pack("<I", 14) + b"\x05")],
    "DM_integrity": [(0, b"integrt\0\x01")],
    "LVM1_member": [(0, b"HM\x01\x00")],
    "ceph_bluestore": [(0, b"bluestore block device\n")],
}


@pytest.mark.parametrize("kind", list(HEADERS))
def test_headers_only_blkid_names(tmp_path: Path, kind: str) -> None:
    """Formats with no Linux tool here (ReFS, a VMware datastore, dm-integrity without the
    kernel, LVM1, Ceph BlueStore): their headers from the format facts, named as blkid
    names them."""
    img = _blank(tmp_path / "v.img", 16 * MIB)
    for at, data in HEADERS[kind]:
        _write(img, at, data)
    assert _named(img) == blkid(img) == kind


def test_ubi_image(tmp_path: Path) -> None:
    """ubinize wraps a mkfs.ubifs image in a UBI image: named ubi, as blkid names it."""
    if shutil.which("ubinize") is None or shutil.which("mkfs.ubifs") is None:
        pytest.skip("needs mtd-utils")
    (tmp_path / "tree").mkdir()
    fs = tmp_path / "fs.ubifs"
    subprocess.run(["mkfs.ubifs", "-r", str(tmp_path / "tree"), "-m", "2048", "-e", "129024",
                    "-c", "100", "-o", str(fs)], check=True, capture_output=True)  # fmt: skip
    config = tmp_path / "ubi.cfg"
    config.write_text(f"[root]\nmode=ubi\nimage={fs}\nvol_id=0\nvol_type=dynamic\n"
                      "vol_name=root\nvol_flags=autoresize\n")  # fmt: skip
    img = tmp_path / "ubi.img"
    subprocess.run(["ubinize", "-o", str(img), "-m", "2048", "-p", "128KiB", str(config)],
                   check=True, capture_output=True)  # fmt: skip
    assert _named(fs) == blkid(fs) == "ubifs"
    assert _named(img) == blkid(img) == "ubi"
