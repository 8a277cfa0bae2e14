"""MBR reading against sfdisk, the EBR chain and case C.24 (an EBR chain that loops)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest

from vmguard.disk.limits import Limits
from vmguard.disk.source import FileSource
from vmguard.disk.volumes.interface import VolumeLayout
from vmguard.disk.volumes.mbr import looks_like_mbr
from vmguard.disk.volumes.scan import scan_volumes

pytestmark = pytest.mark.skipif(shutil.which("sfdisk") is None, reason="needs sfdisk")

SCRIPT = """label: dos
label-id: 0x1a2b3c4d
start=2048, size=4096, type=83, bootable
size=4096, type=82
start=10240, size=28672, type=5
start=12288, size=4096, type=83
start=18432, size=4096, type=8e
start=24576, size=8192, type=7
"""
SECTORS = 40960


def make_mbr(path: Path, script: str = SCRIPT) -> dict[str, object]:
    """An MBR disk with 2 primary, 1 extended and 3 logical partitions, made by sfdisk."""
    with path.open("wb") as f:
        f.truncate(SECTORS * 512)
    subprocess.run(["sfdisk", "-q", str(path)], input=script, text=True, check=True)
    out = subprocess.run(["sfdisk", "--json", str(path)], capture_output=True, text=True)
    table: dict[str, object] = json.loads(out.stdout)["partitiontable"]
    return table


def patch(path: Path, offset: int, data: bytes) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(data)


def scan(path: Path, limits: Limits | None = None) -> VolumeLayout:
    return scan_volumes(FileSource(path), limits=limits or Limits())


def messages(layout: VolumeLayout) -> list[str]:
    return [f"{p.where}: {p.reason}" for p in layout.problems]


def ebr_sectors(path: Path) -> list[int]:
    """The EBR chain's absolute sectors, walked the way sfdisk lays it out (trusted image)."""
    data = path.read_bytes()
    ext = 10240
    sectors, ebr = [], ext
    while True:
        sectors.append(ebr)
        link_type = data[ebr * 512 + 446 + 16 + 4]
        if link_type == 0:
            return sectors
        ebr = ext + struct.unpack_from("<I", data, ebr * 512 + 446 + 16 + 8)[0]


def test_partitions_match_sfdisk(tmp_path: Path) -> None:
    img = tmp_path / "mbr.img"
    oracle = make_mbr(img)
    layout = scan(img)
    assert layout.scheme == "mbr"
    assert layout.disk_uuid == "1a2b3c4d" == str(oracle["id"]).removeprefix("0x")
    assert messages(layout) == [
        "mbr logical partition 6: partition type is Linux LVM but it has no LVM2 label"
    ]
    parts = [p for p in oracle["partitions"] if p["type"] != "5"]  # type: ignore[attr-defined]
    assert len(parts) == 5
    got = [(v.index, v.start, v.size, v.type_id, v.uuid) for v in layout.volumes]
    want = [
        (
            int(p["node"].removeprefix(str(img))),
            p["start"] * 512,
            p["size"] * 512,
            f"{int(p['type'], 16):02x}",
            f"1a2b3c4d-{int(p['node'].removeprefix(str(img))):02d}",
        )
        for p in parts
    ]
    assert got == want
    assert [v.index for v in layout.volumes] == [1, 2, 5, 6, 7]
    patch(img, 24576 * 512, b"logical seven")
    assert scan(img).volumes[-1].source.read_at(0, 13) == b"logical seven"


def test_ebr_chain_loop(tmp_path: Path) -> None:
    """Case 24: the last EBR links back to the first; 3 partitions then a problem."""
    img = tmp_path / "mbr.img"
    make_mbr(img)
    last = ebr_sectors(img)[-1]
    patch(img, last * 512 + 446 + 16, bytes.fromhex("00000000050000000000000000080000"))
    started = time.monotonic()
    layout = scan(img)
    assert time.monotonic() - started < 1
    assert [v.index for v in layout.volumes] == [1, 2, 5, 6, 7]
    assert (
        "mbr logical partition 8: EBR chain loops back to sector 10240; "
        "stopped after 3 logical partitions"
    ) in messages(layout)


def test_ebr_pointing_to_itself(tmp_path: Path) -> None:
    img = tmp_path / "mbr.img"
    make_mbr(img)
    first = ebr_sectors(img)[0]
    patch(img, first * 512 + 446 + 16 + 4, b"\x05")
    patch(img, first * 512 + 446 + 16 + 8, struct.pack("<I", 0))
    layout = scan(img)
    assert [v.index for v in layout.volumes] == [1, 2, 5]
    assert messages(layout)[0] == (
        "mbr logical partition 6: EBR chain loops back to sector 10240; "
        "stopped after 1 logical partitions"
    )


def test_ebr_outside_extended_partition(tmp_path: Path) -> None:
    img = tmp_path / "mbr.img"
    make_mbr(img)
    first = ebr_sectors(img)[0]
    patch(img, first * 512 + 446 + 16 + 8, struct.pack("<I", 0xFFFFFF00))
    layout = scan(img)
    assert [v.index for v in layout.volumes] == [1, 2, 5]
    assert messages(layout)[0] == (
        "mbr logical partition 6: EBR at sector 4294977280 lies outside the extended partition"
    )


def test_logical_partition_limit(tmp_path: Path) -> None:
    img = tmp_path / "mbr.img"
    make_mbr(img)
    layout = scan(img, Limits(max_logical_partitions=2))
    assert [v.index for v in layout.volumes] == [1, 2, 5, 6]
    assert messages(layout)[0] == (
        "mbr logical partition 7: more than 2 EBRs in the chain; rest ignored"
    )


def test_partition_past_disk_end(tmp_path: Path) -> None:
    """A truncated disk: the last logical partition is clipped, later EBRs are missing."""
    img = tmp_path / "mbr.img"
    make_mbr(img)
    with img.open("r+b") as f:
        f.truncate(26000 * 512)
    layout = scan(img)
    assert layout.volumes[-1].index == 7
    assert layout.volumes[-1].size == (26000 - 24576) * 512
    assert "mbr partition 7: extends beyond the disk end" in "\n".join(messages(layout))


def test_primary_entry_at_sector_zero_and_absurd_size(tmp_path: Path) -> None:
    img = tmp_path / "mbr.img"
    make_mbr(img)
    patch(img, 446 + 8, struct.pack("<II", 0, 10))  # partition 1 starts at sector 0
    patch(img, 446 + 16 + 8, struct.pack("<II", 0xFFFFFFFF, 0xFFFFFFFF))
    layout = scan(img)
    assert [v.index for v in layout.volumes] == [5, 6, 7]
    found = messages(layout)
    assert "mbr partition 1: starts at sector 0, over the partition table" in found
    assert any(m.startswith("mbr partition 2: starts at byte 2199023255040") for m in found)


def test_bad_boot_flag_is_not_a_table(tmp_path: Path) -> None:
    """Like Linux: a boot indicator other than 0x00/0x80 means sector 0 is no MBR."""
    img = tmp_path / "mbr.img"
    make_mbr(img)
    patch(img, 446, b"\x41")
    assert not looks_like_mbr(img.read_bytes()[:512])
    assert scan(img).scheme == "none"
