"""GPT reading against sfdisk, and the hostile GPT cases C.22 and C.23 (22a/b/c)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import time
import zlib
from pathlib import Path

import pytest

from vmguard.disk.limits import Limits
from vmguard.disk.source import FileSource
from vmguard.disk.volumes.gpt import read_gpt
from vmguard.disk.volumes.interface import VolumeLayout
from vmguard.disk.volumes.scan import scan_volumes

pytestmark = pytest.mark.skipif(shutil.which("sfdisk") is None, reason="needs sfdisk")

LIMITS = Limits()
DISK_ID = "0E0B6B2A-6A3F-4F25-9A0B-0C2B6C1D8E11"
LINUX = "type=0FC63DAF-8483-4772-8E79-3D69D8477DE4"
ESP = "type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
SCRIPT = f"""label: gpt
label-id: {DISK_ID}
start=2048, size=4096, {LINUX}, uuid=11111111-2222-3333-4444-555555555555, name="root fs"
size=8192, {LINUX}, name="data"
size=2048, {ESP}, uuid=AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE, name="EFI Sÿstem"
"""
SECTORS = 40960  # 20 MiB


def make_gpt(path: Path, script: str = SCRIPT, sectors: int = SECTORS) -> dict[str, object]:
    """A GPT disk image written by sfdisk; returns sfdisk's own JSON view of it."""
    with path.open("wb") as f:
        f.truncate(sectors * 512)
    subprocess.run(["sfdisk", "-q", str(path)], input=script, text=True, check=True)
    out = subprocess.run(["sfdisk", "--json", str(path)], capture_output=True, text=True)
    table: dict[str, object] = json.loads(out.stdout)["partitiontable"]
    return table


def patch(path: Path, offset: int, data: bytes) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(data)


def fix_header_crc(path: Path, lba: int, sector: int = 512) -> None:
    """Recompute the header CRC32 after a patch, as tools/gpt_patch.py does."""
    raw = bytearray(path.read_bytes()[lba * sector : lba * sector + sector])
    size = struct.unpack_from("<I", raw, 12)[0]
    raw[16:20] = b"\0\0\0\0"
    patch(path, lba * sector + 16, struct.pack("<I", zlib.crc32(bytes(raw[:size]))))


def fix_entries_crc(path: Path, lba: int) -> None:
    """Recompute the entry-array CRC32 named by the header at ``lba``, then the header's."""
    data = path.read_bytes()
    entries_lba, count, size = struct.unpack_from("<QII", data, lba * 512 + 72)
    array = data[entries_lba * 512 : entries_lba * 512 + count * size]
    patch(path, lba * 512 + 88, struct.pack("<I", zlib.crc32(array)))
    fix_header_crc(path, lba)


def scan(path: Path, limits: Limits = LIMITS) -> VolumeLayout:
    return scan_volumes(FileSource(path), limits=limits)


def messages(layout: VolumeLayout) -> list[str]:
    return [f"{p.where}: {p.reason}" for p in layout.problems]


def test_partitions_match_sfdisk(tmp_path: Path) -> None:
    img = tmp_path / "gpt.img"
    oracle = make_gpt(img)
    layout = scan(img)
    assert layout.scheme == "gpt"
    assert layout.problems == ()
    assert layout.disk_uuid == str(oracle["id"]).lower()
    parts = oracle["partitions"]
    assert isinstance(parts, list)
    assert len(layout.volumes) == len(parts) == 3
    for vol, want in zip(layout.volumes, parts, strict=True):
        assert vol.index == int(want["node"].removeprefix(str(img)))
        assert vol.start == want["start"] * 512
        assert vol.size == want["size"] * 512 == vol.source.size
        assert vol.uuid == want["uuid"].lower()
        assert vol.type_id == want["type"].lower()
        assert vol.label == want["name"]
    assert layout.volumes[2].label == "EFI Sÿstem"  # UTF-16LE beyond ASCII
    # The partition's source reads the partition's bytes.
    patch(img, 2048 * 512, b"first partition")
    assert scan(img).volumes[0].source.read_at(0, 15) == b"first partition"


def test_4k_sectors(tmp_path: Path) -> None:
    """4Kn GPT written through a 4096-byte-sector loop device (sfdisk has no --sector-size)."""
    img = tmp_path / "4k.img"
    with img.open("wb") as f:
        f.truncate(40 << 20)
    attach = subprocess.run(
        ["losetup", "-f", "--show", "-b", "4096", str(img)], capture_output=True, text=True
    )
    if attach.returncode != 0:
        pytest.skip(f"no loop device: {attach.stderr.strip()}")
    loop = attach.stdout.strip()
    try:
        subprocess.run(
            ["sfdisk", "-q", "--no-reread", "--no-tell-kernel", loop],
            input="label: gpt\nsize=2M, name=a\nsize=4M, name=b\n",
            text=True,
            check=True,
        )
        listing = subprocess.run(
            ["sfdisk", "--json", loop], capture_output=True, text=True, check=True
        )
        oracle = json.loads(listing.stdout)["partitiontable"]
    finally:
        subprocess.run(["losetup", "-d", loop], check=True)
    assert oracle["sectorsize"] == 4096
    layout = scan(img)
    assert layout.scheme == "gpt"
    assert layout.problems == ()
    assert [(v.start, v.size, v.label) for v in layout.volumes] == [
        (p["start"] * 4096, p["size"] * 4096, p.get("name")) for p in oracle["partitions"]
    ]


@pytest.mark.parametrize(
    ("offset", "value", "reason"),
    [
        (80, struct.pack("<I", 0xFFFFFFFF), "partition entry array of 4294967295 x 128 bytes"),
        (84, struct.pack("<I", 8), "partition entry size 8 is not a power of two in 128..4096"),
        (80, struct.pack("<I", 0x10000000), "partition entry array of 268435456 x 128 bytes"),
        (12, struct.pack("<I", 4096), "header size 4096 outside 92..512"),
    ],
    ids=["22a-count-ffffffff", "22b-entry-size-8", "22c-count-10000000", "header-size"],
)
def test_absurd_header_with_valid_crc_falls_back_to_backup(
    tmp_path: Path, offset: int, value: bytes, reason: str
) -> None:
    """Case 23 (22a/b/c): the header CRC is recomputed, so only the bounds catch it."""
    img = tmp_path / "gpt.img"
    make_gpt(img)
    patch(img, 512 + offset, value)
    if offset != 12:
        fix_header_crc(img, 1)
    started = time.monotonic()
    layout = scan(img)
    assert time.monotonic() - started < 1
    assert len(layout.volumes) == 3
    assert layout.problems[0].where == "gpt"
    assert layout.problems[0].reason.startswith("primary GPT header invalid (")
    assert reason in layout.problems[0].reason or offset == 12
    assert f"using the backup header at LBA {SECTORS - 1}" in layout.problems[0].reason


def test_corrupt_entry_array_uses_backup(tmp_path: Path) -> None:
    img = tmp_path / "gpt.img"
    make_gpt(img)
    patch(img, 2 * 512 + 56, "evil".encode("utf-16-le"))  # name of entry 1, CRC not fixed
    layout = scan(img)
    assert "partition entry array CRC32 mismatch" in layout.problems[0].reason
    assert layout.volumes[0].label == "root fs"


def test_both_headers_bad(tmp_path: Path) -> None:
    img = tmp_path / "gpt.img"
    make_gpt(img)
    patch(img, 512 + 16, b"\0\0\0\0")
    patch(img, (SECTORS - 1) * 512 + 16, b"\0\0\0\0")
    layout = scan(img)
    assert (layout.scheme, layout.volumes) == ("gpt", ())
    assert messages(layout)[-1] == (
        "gpt: no valid GPT header: primary: header CRC32 mismatch at LBA 1; "
        f"backup: header CRC32 mismatch at LBA {SECTORS - 1}"
    )


def test_entry_beyond_disk_end(tmp_path: Path) -> None:
    """Entries past the disk end (one partly, one wholly) are clipped or dropped."""
    img = tmp_path / "gpt.img"
    make_gpt(img)
    patch(img, 2 * 512 + 128 + 40, struct.pack("<Q", 2**40))  # entry 2 last LBA
    patch(img, 2 * 512 + 256 + 32, struct.pack("<QQ", 2**50, 2**50 + 1))  # entry 3
    fix_entries_crc(img, 1)
    layout = scan(img)
    assert [v.index for v in layout.volumes] == [1, 2]
    assert layout.volumes[1].size == SECTORS * 512 - 6144 * 512
    found = messages(layout)
    assert "gpt partition 2: LBA 6144..1099511627776 outside the usable area 2048..40926" in found
    assert any(m.startswith("gpt partition 2: extends beyond the disk end") for m in found)
    assert any(m.startswith("gpt partition 3: starts at byte 576460752303423488") for m in found)


def test_overlapping_partitions(tmp_path: Path) -> None:
    img = tmp_path / "gpt.img"
    make_gpt(img)
    patch(img, 2 * 512 + 128 + 32, struct.pack("<Q", 4000))  # entry 2 starts inside entry 1
    fix_entries_crc(img, 1)
    layout = scan(img)
    assert "gpt partition 2: overlaps gpt partition 1" in messages(layout)
    assert len(layout.volumes) == 3


def test_entry_count_capped(tmp_path: Path) -> None:
    img = tmp_path / "gpt.img"
    make_gpt(img)
    layout = scan(img, Limits(max_gpt_entries=2))
    assert len(layout.volumes) == 2
    assert messages(layout) == ["gpt: more than 2 partitions; the rest ignored"]


def test_truncated_disk(tmp_path: Path) -> None:
    """A disk cut short: the backup is gone and the last partition is clipped."""
    img = tmp_path / "gpt.img"
    make_gpt(img)
    with img.open("r+b") as f:
        f.truncate(15000 * 512)
    layout = scan(img)
    found = messages(layout)
    assert found[0] == (
        f"gpt: backup header LBA {SECTORS - 1} is not the last LBA 14999 "
        "(disk truncated or resized)"
    )
    assert [v.index for v in layout.volumes] == [1, 2, 3]
    assert layout.volumes[2].size == (15000 - 14336) * 512
    assert any(m.startswith("gpt partition 3: extends beyond the disk end") for m in found)


@pytest.mark.parametrize(
    ("offset", "value", "problem"),
    [
        (462, bytes.fromhex("0000020083000000000100000000a000"), "hybrid MBR: also lists "
         "partitions of type 0x83"),
        (446, b"\x0a", "0xEE entry has boot flag 0x0a"),
        (454, bytes.fromhex("02000000"), "0xEE entry starts at LBA 2, not 1"),
        (450, b"\x00", "no 0xEE protective entry"),
    ],
    ids=["21a-hybrid", "21b-boot-flag", "21c-start-lba", "no-ee"],
)  # fmt: skip
def test_protective_mbr_abuse(tmp_path: Path, offset: int, value: bytes, problem: str) -> None:
    """Case 22: reported, and the GPT is still read."""
    img = tmp_path / "gpt.img"
    make_gpt(img)
    patch(img, offset, value)
    layout = scan(img)
    assert layout.scheme == "gpt"
    assert len(layout.volumes) == 3
    assert f"gpt protective mbr: {problem}" in messages(layout)


def test_backup_only_when_primary_wiped(tmp_path: Path) -> None:
    """Primary header zeroed: the protective MBR and the backup still make it a GPT."""
    img = tmp_path / "gpt.img"
    make_gpt(img)
    patch(img, 512, bytes(512))
    layout = read_gpt(FileSource(img), limits=LIMITS)
    assert len(layout.volumes) == 3
    assert "no GPT signature at LBA 1" in layout.problems[0].reason
    assert scan(img).scheme == "gpt"
