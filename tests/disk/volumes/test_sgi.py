"""SGI volume headers written by parted (label "dvh"), read against partx (libblkid)."""

from __future__ import annotations

from pathlib import Path

from parted_disks import FS_BYTES, FS_START, needs_parted, parted_disk, partx

from vmguard.disk.limits import Limits
from vmguard.disk.source import FileSource
from vmguard.disk.volumes.scan import scan_volumes
from vmguard.inspection import ImageOptions, inspect_image

pytestmark = needs_parted


def test_data_partitions_agree_with_partx(tmp_path: Path) -> None:
    disk = parted_disk(tmp_path, "dvh")
    layout = scan_volumes(FileSource(disk), limits=Limits())
    assert layout.scheme == "sgi"
    theirs = partx(disk)
    assert sorted(theirs) == [1, 9, 11]  # data, the volume header, the whole volume
    assert [(v.index, v.start, v.size) for v in layout.volumes] == [(1, FS_START, FS_BYTES)]
    assert theirs[1] == (FS_START, FS_BYTES)
    report = inspect_image(disk, ImageOptions())
    assert report.inventory is not None and report.inventory.os is not None
    assert report.inventory.os.hostname == "parted-guest"
    assert report.errors == ()


def test_a_header_with_a_bad_sum_is_not_a_table(tmp_path: Path) -> None:
    disk = parted_disk(tmp_path, "dvh")
    with disk.open("r+b") as f:
        f.seek(312)
        f.write(b"\x01")
    assert scan_volumes(FileSource(disk), limits=Limits()).scheme == "none"
