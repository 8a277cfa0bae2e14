"""Firmware RAID member disks and DRBD devices (issue 14), named as ``blkid -p`` names them.

No firmware RAID BIOS runs here and drbdmeta needs the kernel module, so the metadata is
written from the format facts into the last sectors of a disk (HighPoint 37x: sector 9),
and ``blkid -p`` is the independent reader that says the builder is right. A member disk
with a real partition table and ext4 shows that the table is not read as the disk's own."""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from blkidtool import blkid_type
from memsource import BytesSource
from vmguard.disk.filesystems import detect_filesystem
from vmguard.disk.source import FileSource
from vmguard.inspection import ImageOptions, inspect_image

MIB = 1 << 20
SECTOR = 512
Writes = list[tuple[int, bytes]]


def write_at(path: Path, writes: Writes) -> Path:
    """``writes`` at their offsets (negative: from the end of the file)."""
    size = path.stat().st_size
    with path.open("r+b") as f:
        for at, data in writes:
            f.seek(at if at >= 0 else size + at)
            f.write(data)
    return path


def blank(path: Path, size: int = 4 * MIB) -> Path:
    with path.open("wb") as f:
        f.truncate(size)
    return path


def _via(version: int = 1, checksum_ok: bool = True) -> bytes:
    meta = bytearray(51)
    struct.pack_into("<HBHBII", meta, 0, 0xAA55, version, 0b11, 0, 8192, 0)
    meta[50] = (sum(meta[:50]) + (0 if checksum_ok else 1)) & 0xFF
    return bytes(meta)


def _silicon(disk_number: int = 0, checksum_ok: bool = True) -> bytes:
    meta = bytearray(SECTOR)
    meta[0x2E:0x36] = b"SiI 3114"
    struct.pack_into("<I", meta, 0x60, 0x2F000000)
    struct.pack_into("<HHHH", meta, 0x104, 0x3114, 0x1095, 1, 2)
    meta[0x116] = disk_number
    total = sum(struct.unpack_from(f"<{0x13E // 2}H", meta))
    struct.pack_into("<H", meta, 0x13E, (-total + (0 if checksum_ok else 1)) & 0xFFFF)
    return bytes(meta)


def _ddf(primary_lba: int = 0) -> bytes:
    header = bytearray(SECTOR)
    struct.pack_into(">I", header, 0, 0xDE11DE11)
    header[8:32] = b"LSI     1000SAS 0123456 "
    header[32:40] = b"01.02.00"
    struct.pack_into(">QQ", header, 96, primary_lba, 0)
    return bytes(header)


def _adaptec() -> bytes:
    meta = bytearray(SECTOR)
    meta[0:4] = struct.pack(">I", 0x37FC4D1E)
    meta[63] = 2  # resver
    meta[256:260] = b"DPTM"
    return bytes(meta)


ISW_FIELDS = struct.pack("<III", 0x1234, 480, 0x0F0F0F0F)
"""check_sum, mpb_size, family_num after the 32-byte signature."""
MEMBERS: dict[str, Writes] = {
    "ddf_raid_member": [(-SECTOR, _ddf())],
    "ddf_raid_member-le-at-257": [(-257 * SECTOR, _ddf()[:4][::-1] + _ddf()[4:])],
    "isw_raid_member": [(-2 * SECTOR, b"Intel Raid ISM Cfg Sig. 1.3.00\0\0" + ISW_FIELDS)],
    "lsi_mega_raid_member": [(-SECTOR, b"$XIDE$")],
    "via_raid_member": [(-SECTOR, _via())],
    "silicon_medley_raid_member": [(-SECTOR, _silicon())],
    "nvidia_raid_member": [(-2 * SECTOR, b"NVIDIA  " + struct.pack("<IIH", 30, 0, 100))],
    "promise_fasttrack_raid_member": [(-63 * SECTOR, b"Promise Technology, Inc.")],
    "promise_fasttrack_raid_member-3087": [(-3087 * SECTOR, b"Promise Technology, Inc.")],
    "hpt45x_raid_member": [(-11 * SECTOR, struct.pack("<I", 0x5A7816F3))],
    "hpt37x_raid_member": [(9 * SECTOR + 32, struct.pack("<I", 0x5A7816F0))],
    "adaptec_raid_member": [(-SECTOR, _adaptec())],
    "jmicron_raid_member": [(-SECTOR, b"JM\x00\x01")],
}


@pytest.mark.parametrize("name", list(MEMBERS))
def test_whole_disk_member_named_like_blkid(tmp_path: Path, name: str) -> None:
    img = write_at(blank(tmp_path / "disk.img"), MEMBERS[name])
    expected = name.split("-", maxsplit=1)[0]
    assert blkid_type(img) == expected
    assert detect_filesystem(FileSource(img), whole_disk=True).kind == expected
    report = inspect_image(img, ImageOptions())
    assert report.inventory is not None
    (part,) = report.inventory.partitions
    assert part.filesystem == expected
    assert report.errors[0].reason.startswith(f"unsupported filesystem {expected} (a firmware")


NEAR_MISSES: dict[str, tuple[Writes, int]] = {
    "isw-signature-without-its-last-space": ([(-2 * SECTOR, b"Intel Raid ISM Cfg Sig.")], 4 * MIB),
    "via-bad-checksum": ([(-SECTOR, _via(checksum_ok=False))], 4 * MIB),
    "via-version-3": ([(-SECTOR, _via(version=3))], 4 * MIB),
    "silicon-bad-checksum": ([(-SECTOR, _silicon(checksum_ok=False))], 4 * MIB),
    "silicon-disk-number-8": ([(-SECTOR, _silicon(disk_number=8))], 4 * MIB),
    "ddf-primary-header-missing": ([(-SECTOR, _ddf(primary_lba=100))], 4 * MIB),
    "ddf-under-192-kib": ([(-SECTOR, _ddf())], 0x30000 - SECTOR),
    "lsi-on-a-floppy-sized-disk": ([(-SECTOR, b"$XIDE$")], 1440 * 1024),
    "promise-under-256-kib": ([(-63 * SECTOR, b"Promise Technology, Inc.")], 0x40000 - SECTOR),
    "hpt45x-magic-of-hpt37x": ([(-11 * SECTOR, struct.pack("<I", 0x5A7816F0))], 4 * MIB),
    "adaptec-without-DPTM": ([(-SECTOR, _adaptec()[:256])], 4 * MIB),
}


@pytest.mark.parametrize("name", list(NEAR_MISSES))
def test_near_miss_is_not_named(tmp_path: Path, name: str) -> None:
    writes, size = NEAR_MISSES[name]
    img = write_at(blank(tmp_path / "disk.img", size), writes)
    assert blkid_type(img) == ""
    assert detect_filesystem(FileSource(img), whole_disk=True).kind == ""


def _partitioned_ext4_disk(tmp_path: Path) -> Path:
    """An 8 MiB disk: an MBR, and ext4 (with a file) in its one partition."""
    if shutil.which("sfdisk") is None or shutil.which("mkfs.ext4") is None:
        pytest.skip("needs sfdisk and mkfs.ext4")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "hello.txt").write_text("hello\n")
    fs = blank(tmp_path / "fs.img", 4 * MIB)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(tree), str(fs)], check=True,
                   capture_output=True)  # fmt: skip
    disk = blank(tmp_path / "disk.img", 8 * MIB)
    subprocess.run(["sfdisk", "-q", str(disk)], input="label: dos\nstart=2048, size=8192\n",
                   text=True, check=True, capture_output=True)  # fmt: skip
    return write_at(disk, [(MIB, fs.read_bytes())])


def test_member_partition_table_is_not_read_as_the_disks_own(tmp_path: Path) -> None:
    """A striped member's table describes the array: with Intel metadata at its end, the
    disk is one isw_raid_member volume, as blkid says; without it, the ext4 is read."""
    disk = _partitioned_ext4_disk(tmp_path)
    report = inspect_image(disk, ImageOptions())
    assert report.inventory is not None
    assert [p.filesystem for p in report.inventory.partitions] == ["ext4"]
    write_at(disk, MEMBERS["isw_raid_member"])
    assert blkid_type(disk) == "isw_raid_member"
    report = inspect_image(disk, ImageOptions())
    assert report.inventory is not None
    assert [(p.scheme, p.filesystem) for p in report.inventory.partitions] == [
        ("none", "isw_raid_member")
    ]


def test_partition_ending_like_a_member_is_not_one(tmp_path: Path) -> None:
    """Firmware RAID metadata is looked for on whole disks only (blkid probes a partition
    device for it neither): a partition whose last sector starts with "JM" is read."""
    disk = _partitioned_ext4_disk(tmp_path)
    write_at(disk, [(MIB + 4 * MIB - SECTOR, b"JM")])
    report = inspect_image(disk, ImageOptions())
    assert report.inventory is not None
    assert [p.filesystem for p in report.inventory.partitions] == ["ext4"]


def test_drbd_metadata_at_the_end_of_an_ext4_volume(tmp_path: Path) -> None:
    """DRBD 8 and 9 internal metadata: the replicated ext4 is at offset 0, the metadata's
    magic 60 bytes into the last 4 KiB; blkid names the device drbd, so does vmguard."""
    if shutil.which("mkfs.ext4") is None:
        pytest.skip("needs mkfs.ext4")
    img = blank(tmp_path / "drbd.img", 4 * MIB)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(img), "3M"], check=True, capture_output=True)
    for magic in (0x8374026B, 0x8374026C, 0x8374026D):
        write_at(img, [(-4096 + 60, struct.pack(">I", magic))])
        assert blkid_type(img) == "drbd"
        assert detect_filesystem(FileSource(img)).kind == "drbd"
    write_at(img, [(-4096 + 60, struct.pack(">I", 0x8374026A))])
    assert blkid_type(img) == detect_filesystem(FileSource(img)).kind == "ext4"


@pytest.mark.parametrize("name", list(MEMBERS))
def test_mutated_metadata_never_raises(name: str) -> None:
    """Hostile bytes over each kind's metadata: a name or "", never an exception."""
    size = 2 * MIB
    base = bytearray(size)
    spots = []
    for at, data in MEMBERS[name]:
        start = at if at >= 0 else size + at
        base[start : start + len(data)] = data
        spots += range(start, start + min(len(data), 512))
    rng = random.Random(name)
    for _ in range(200):
        image = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            image[rng.choice(spots)] = rng.randrange(256)
        source = BytesSource(bytes(image))
        assert isinstance(detect_filesystem(source, whole_disk=True).kind, str)
