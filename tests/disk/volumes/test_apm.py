"""Apple Partition Maps written by parted, read against partx (libblkid)."""

from __future__ import annotations

from pathlib import Path

from parted_disks import FS_BYTES, FS_START, needs_parted, parted_disk, partx

from memsource import BytesSource
from vmguard.disk.limits import Limits
from vmguard.disk.source import FileSource
from vmguard.disk.volumes.apm import holds_data
from vmguard.disk.volumes.scan import scan_volumes
from vmguard.inspection import ImageOptions, inspect_image

pytestmark = needs_parted


def test_partitions_agree_with_partx_and_skip_map_and_free_space(tmp_path: Path) -> None:
    disk = parted_disk(tmp_path, "mac")
    layout = scan_volumes(FileSource(disk), limits=Limits())
    assert layout.scheme == "apm"
    theirs = partx(disk)
    assert len(theirs) == 4  # the map, the ext4 partition and two free-space entries
    assert [(v.index, v.start, v.size) for v in layout.volumes] == [(2, FS_START, FS_BYTES)]
    assert theirs[2] == (FS_START, FS_BYTES)
    assert layout.volumes[0].type_id == "Apple_UNIX_SVR2"
    assert layout.volumes[0].label == "primary"
    assert layout.problems == ()


def test_the_guest_on_an_apm_disk_is_inspected(tmp_path: Path) -> None:
    report = inspect_image(parted_disk(tmp_path, "mac"), ImageOptions())
    inventory = report.inventory
    assert inventory is not None and inventory.os is not None
    assert inventory.os.hostname == "parted-guest"
    assert [p.scheme for p in inventory.partitions] == ["apm"]
    assert report.errors == ()


def test_a_map_that_claims_more_entries_than_the_limit_is_cut(tmp_path: Path) -> None:
    disk = parted_disk(tmp_path, "mac")
    with disk.open("r+b") as f:
        f.seek(512 + 4)
        f.write((0xFFFFFFFF).to_bytes(4, "big"))
    layout = scan_volumes(FileSource(disk), limits=Limits(max_gpt_entries=8))
    assert [v.index for v in layout.volumes] == [2]
    assert any("map claims 4294967295 entries" in p.reason for p in layout.problems)


def test_driver_and_free_entries_hold_no_data() -> None:
    assert not holds_data("Apple_partition_map")
    assert not holds_data("Apple_Free")
    assert not holds_data("Apple_Driver43")
    assert holds_data("Apple_HFS") and holds_data("Apple_UNIX_SVR2")


def test_a_disk_shorter_than_a_driver_descriptor_is_no_table() -> None:
    """Fuzzing found it: a 3-byte disk starting "ER" raised struct.error."""
    layout = scan_volumes(BytesSource(b"ER\x02"), limits=Limits())
    assert layout.scheme == "none"
