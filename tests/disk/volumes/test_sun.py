"""Sun disk labels written by parted, read against partx (libblkid)."""

from __future__ import annotations

from pathlib import Path

from parted_disks import FS_BYTES, FS_START, needs_parted, parted_disk, partx

from vmguard.disk.limits import Limits
from vmguard.disk.source import FileSource
from vmguard.disk.volumes.scan import scan_volumes
from vmguard.inspection import ImageOptions, inspect_image

pytestmark = needs_parted


def test_partitions_agree_with_partx_without_the_whole_disk_entry(tmp_path: Path) -> None:
    disk = parted_disk(tmp_path, "sun")
    layout = scan_volumes(FileSource(disk), limits=Limits())
    assert layout.scheme == "sun"
    assert {v.index: (v.start, v.size) for v in layout.volumes} == partx(disk)
    assert [(v.index, v.start, v.size) for v in layout.volumes] == [(1, FS_START, FS_BYTES)]
    report = inspect_image(disk, ImageOptions())
    assert report.inventory is not None and report.inventory.os is not None
    assert report.inventory.os.hostname == "parted-guest"


def test_a_label_with_a_bad_checksum_is_not_a_table(tmp_path: Path) -> None:
    disk = parted_disk(tmp_path, "sun")
    with disk.open("r+b") as f:
        f.seek(510)
        f.write(b"\x12\x34")
    assert scan_volumes(FileSource(disk), limits=Limits()).scheme == "none"


def test_a_partition_past_the_disk_end_is_a_problem(tmp_path: Path) -> None:
    disk = parted_disk(tmp_path, "sun")
    sector = bytearray(disk.read_bytes()[:512])
    sector[444:448] = (0xFFFF).to_bytes(4, "big")  # partition 1 starts at cylinder 65535
    sector[510:512] = b"\0\0"
    checksum = 0
    for i in range(0, 512, 2):
        checksum ^= int.from_bytes(sector[i : i + 2], "big")
    sector[510:512] = checksum.to_bytes(2, "big")
    with disk.open("r+b") as f:
        f.write(sector)
    layout = scan_volumes(FileSource(disk), limits=Limits())
    assert layout.volumes == ()
    assert [p.where for p in layout.problems] == ["sun partition 1"]
