"""The rarely met signatures (issue 14): HPFS, System V, Xenix, VxFS, BFS, NetWare NSS,
OCFS, Oracle ASM, exfs, zonefs, mpool, DRBD proxy logs, drbdmanage control volumes and
device-mapper snapshot stores. No tool that makes them runs on Debian (OS/2, SCO, Veritas,
Haiku, NetWare and Oracle formatters; mkzonefs wants a zoned device), so each volume is
written from the on-disk format facts and ``blkid -p`` is the independent reader that says
the builder is right; exfs starts from a real ``mkfs.xfs`` volume. Each near miss is one
blkid rejects too."""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import google_crc32c
import pytest

from blkidtool import blkid_type
from memsource import BytesSource
from vmguard.disk.filesystems import detect_filesystem
from vmguard.disk.source import FileSource
from vmguard.inspection import ImageOptions, inspect_image

MIB = 1 << 20
Writes = list[tuple[int, bytes]]


def write_volume(path: Path, writes: Writes, size: int = 2 * MIB) -> Path:
    """A sparse volume of ``size`` bytes with ``writes`` at their offsets (negative: from
    the end)."""
    with path.open("wb") as f:
        f.truncate(size)
        for at, data in writes:
            f.seek(at if at >= 0 else size + at)
            f.write(data)
    return path


def _hpfs(spare: bool = True, code: bytes = b"\xfa\xf4" * 224) -> Writes:
    """An OS/2 HPFS boot block (a BPB with no FATs, then boot code: here cli; hlt), the
    superblock at 8 KiB and the spare block after it."""
    boot = bytearray(b"\xeb\x3c\x90IBM 10.2" + struct.pack("<HBHBHHB", 512, 1, 1, 0, 0, 0, 0xF8))
    boot += bytes(62 - len(boot)) + code
    boot[38], boot[39:43], boot[43:54] = 0x28, b"\x01\x02\x03\x04", b"OS2DATA    "
    boot[54:62], boot[510:512] = b"HPFS    ", b"\x55\xaa"
    writes = [(0, bytes(boot)), (0x2000, b"\x49\xe8\x95\xf9\x3b\xae\x3c\x07\x02")]
    return [*writes, (0x2200, b"\x49\x18\x91\xf9\x64\x4a\x52\x25")] if spare else writes


def _sysv(block: int, order: str) -> Writes:
    sb = bytearray(512)
    struct.pack_into(order + "HxxI", sb, 0, 32, 2048)  # inode blocks, volume blocks
    sb[440:446] = b"usr\0\0\0"
    struct.pack_into(order + "II", sb, 500, 0x7C269D38, 0xFD187E20)  # state, magic
    struct.pack_into(order + "I", sb, 508, 2)  # 1 KiB blocks
    return [(block * 1024 + 512, bytes(sb))]


def _befs(
    root_inode_magic: int = 0x3BBE0AD9, volume_id: bool = False, attributes: int = 0
) -> Writes:
    """A little-endian BFS superblock at 512 (as Haiku writes it after the boot block),
    1 KiB blocks, and the root directory inode at block 8: with its volume id in its
    small-data area, or not; with an attribute directory at block ``attributes``, or not."""
    sb = bytearray(160)
    sb[0:5] = b"haiku"
    struct.pack_into("<4Iqqi", sb, 32, 0x42465331, 0x42494745, 1024, 10, 2048, 100, 512)
    struct.pack_into("<5i", sb, 68, 0xDD121031 - (1 << 32), 8192, 13, 1, 0)
    struct.pack_into("<I", sb, 112, 0x15B6830E)
    struct.pack_into("<iHH", sb, 116, 0, 8, 1)
    inode = bytearray(1024)
    struct.pack_into("<I", inode, 0, root_inode_magic)
    if attributes:
        struct.pack_into("<iHH", inode, 52, 0, attributes, 1)
    struct.pack_into("<i", inode, 64, 1024 - 232)  # inode_size bounds the small data
    if volume_id:  # type ULLG, name "be:volume_id", 8 bytes of data
        item = struct.pack("<IHH", 0x554C4C47, 12, 8) + b"be:volume_id\0\0\0"
        inode[232 : 232 + len(item) + 9] = item + b"\x3b\xb7\xf6\x82\xec\x9d\xd8\x95\0"
    return [(512, bytes(sb)), (8192, bytes(inode))]


def _zonefs(crc_ok: bool = True) -> Writes:
    sb = bytearray(4096)
    sb[0:4], sb[8:13] = b"SFOZ", b"zoned"
    sb[40:56] = bytes(range(16))
    crc = zlib.crc32(bytes(sb)) ^ 0xFFFFFFFF
    struct.pack_into("<I", sb, 4, crc if crc_ok else crc ^ 1)
    return [(0, bytes(sb))]


def _mpool(crc_ok: bool = True) -> Writes:
    sb = bytearray(66)
    sb[0:8], sb[8:13], sb[40:56] = b"mpoolDev", b"mp0\0\0", bytes(range(16))
    struct.pack_into("<HI", sb, 56, 1, 7)
    crc = google_crc32c.value(bytes(sb[:62]))
    struct.pack_into("<I", sb, 62, crc if crc_ok else crc ^ 1)
    return [(0, bytes(sb))]


def _drbdmanage(newline: bytes = b"\n") -> Writes:
    return [(0, b"$DRBDmgr=q\0" + b"0f3c2b1a" * 4 + newline)]


VOLUMES: dict[str, tuple[Writes, int]] = {
    "hpfs": (_hpfs(), 2 * MIB),
    "hpfs-boot-code-ending-in-zeros": (_hpfs(code=b"\xfa\xf4" * 192 + bytes(64)), 2 * MIB),
    "sysv-le": (_sysv(0, "<"), 2 * MIB),
    "sysv-be-block18": (_sysv(18, ">"), 2 * MIB),
    "xenix": ([(1024, struct.pack("<HI", 32, 2048)), (2048, b"\x2b\x55\x44\0\3")], 2 * MIB),
    "vxfs": ([(1024, struct.pack("<Ii8xI", 0xA501FCF5, 4, 1024))], 2 * MIB),
    "vxfs-be": ([(8192, struct.pack(">Ii", 0xA501FCF5, 4))], 2 * MIB),
    "befs": (_befs(), 2 * MIB),
    "befs-volume-id-in-small-data": (_befs(volume_id=True, attributes=9), 2 * MIB),
    "nss": ([(4096, b"SPB5" + struct.pack("<HHHH", 5, 0, 5, 30))], 2 * MIB),
    "ocfs": ([(8192, b"OracleCFS")], 14000 * 1024),
    "oracleasm": ([(32, b"ORCLDISK" + b"DATA01".ljust(24, b"\0"))], 2 * MIB),
    "zonefs": (_zonefs(), 2 * MIB),
    "mpool": (_mpool(), 2 * MIB),
    "drbdproxy_datalog": ([(0, b"DRBDdlh*" + struct.pack("<Q", 1) + bytes(range(16)))], 2 * MIB),
    "drbdmanage_control_volume": (_drbdmanage(), 2 * MIB),
    "DM_snapshot_cow": ([(0, b"SnAp" + struct.pack("<III", 1, 1, 16))], 2 * MIB),
}


@pytest.mark.parametrize("name", list(VOLUMES))
def test_named_like_blkid(tmp_path: Path, name: str) -> None:
    writes, size = VOLUMES[name]
    img = write_volume(tmp_path / f"{name}.img", writes, size)
    expected = blkid_type(img)
    assert expected == name.split("-", maxsplit=1)[0]
    assert detect_filesystem(FileSource(img)).kind == expected
    report = inspect_image(img, ImageOptions())
    assert report.inventory is not None
    (part,) = report.inventory.partitions
    assert (part.filesystem, part.mountpoint) == (expected, None)
    assert any(e.reason.startswith(f"unsupported filesystem {expected}") for e in report.errors)


NEAR_MISSES: dict[str, tuple[Writes, int]] = {
    "hpfs-without-spare-superblock": (_hpfs(spare=False), 2 * MIB),
    "sysv-magic-one-byte-off": ([(1017, struct.pack("<I", 0xFD187E20))], 2 * MIB),
    "xenix-magic-at-the-superblock-field": ([(2040, b"\x2b\x55\x44")], 2 * MIB),
    "befs-root-inode-missing": (_befs(root_inode_magic=0), 2 * MIB),
    "befs-too-small": (_befs(), 1400 * 1024),
    "befs-attribute-directory-is-the-root-itself": (_befs(attributes=8), 2 * MIB),
    "befs-attribute-directory-missing": (_befs(attributes=9), 2 * MIB),
    "ocfs-under-14000-kib": ([(8192, b"OracleCFS")], 13 * MIB),
    "mpool-bad-checksum": (_mpool(crc_ok=False), 2 * MIB),
    "drbdmanage-without-newline": (_drbdmanage(b"X"), 2 * MIB),
    "drbdproxy-under-16-kib": ([(0, b"DRBDdlh*")], 12 * 1024),
}


@pytest.mark.parametrize("name", list(NEAR_MISSES))
def test_near_miss_is_not_named(tmp_path: Path, name: str) -> None:
    writes, size = NEAR_MISSES[name]
    img = write_volume(tmp_path / f"{name}.img", writes, size)
    assert blkid_type(img) == ""
    assert detect_filesystem(FileSource(img)).kind == ""


def test_zonefs_checksum_is_checked(tmp_path: Path) -> None:
    """libblkid 2.38 names any ``SFOZ`` block zonefs; later versions (and vmguard) also
    check the superblock's CRC, so a bad one is not named."""
    img = write_volume(tmp_path / "zonefs.img", _zonefs(crc_ok=False))
    assert detect_filesystem(FileSource(img)).kind == ""


def _mkfs_xfs(tmp_path: Path) -> Path:
    if shutil.which("mkfs.xfs") is None:
        pytest.skip("needs mkfs.xfs")
    img = write_volume(tmp_path / "xfs.img", [], 320 * MIB)
    subprocess.run(["mkfs.xfs", "-q", "-f", str(img)], check=True, capture_output=True)
    return img


def test_exfs_from_a_real_xfs_superblock(tmp_path: Path) -> None:
    """HPE's exfs is XFS's on-disk superblock with its own magic: a real mkfs.xfs volume
    with the magic changed is exfs to blkid and to vmguard; with a geometry that does not
    hold (no allocation groups), neither names it."""
    img = _mkfs_xfs(tmp_path)
    write_volume_at(img, 0, b"EXFS")
    assert blkid_type(img) == "exfs"
    assert detect_filesystem(FileSource(img)).kind == "exfs"
    write_volume_at(img, 88, bytes(4))  # sb_agcount
    assert blkid_type(img) == ""
    assert detect_filesystem(FileSource(img)).kind == ""


def write_volume_at(path: Path, at: int, data: bytes) -> None:
    with path.open("r+b") as f:
        f.seek(at)
        f.write(data)


def test_weak_signatures_never_claim_a_readable_filesystem(tmp_path: Path) -> None:
    """A real ext4 volume that also carries a System V magic in its boot area stays ext4."""
    if shutil.which("mkfs.ext4") is None:
        pytest.skip("needs mkfs.ext4")
    img = write_volume(tmp_path / "ext4.img", [], 8 * MIB)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(img)], check=True, capture_output=True)
    write_volume_at(img, 1016, struct.pack("<I", 0xFD187E20))
    assert detect_filesystem(FileSource(img)).kind == "ext4"


def _image(writes: Writes, size: int) -> bytearray:
    image = bytearray(size)
    for at, data in writes:
        start = at if at >= 0 else size + at
        image[start : start + len(data)] = data
    return image


@pytest.mark.parametrize("name", list(VOLUMES))
def test_mutated_signatures_never_raise(name: str) -> None:
    """Hostile bytes over each signature's fields: a name or "", never an exception."""
    writes, size = VOLUMES[name]
    base = _image(writes, min(size, 2 * MIB))
    spots = [at for at, data in writes for at in range(at, at + min(len(data), 256))]
    rng = random.Random(name)
    for _ in range(200):
        image = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            image[rng.choice(spots)] = rng.randrange(256)
        assert isinstance(detect_filesystem(BytesSource(bytes(image))).kind, str)
