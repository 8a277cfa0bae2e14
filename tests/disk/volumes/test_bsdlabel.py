"""BSD disklabels: on a whole disk (parted) and inside an MBR FreeBSD slice (sfdisk)."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from parted_disks import DISK_BYTES, FS_BYTES, FS_START, needs_parted, parted_disk, partx

from vmguard.disk.limits import Limits
from vmguard.disk.source import FileSource
from vmguard.disk.volumes.scan import scan_volumes
from vmguard.inspection import ImageOptions, inspect_image

pytestmark = needs_parted
SLICE_START = 1 << 20
LABEL_AT = 64
"""parted writes the label 64 bytes into the disk (the Alpha place; i386 uses 512)."""


def test_a_whole_disk_label_agrees_with_partx(tmp_path: Path) -> None:
    disk = parted_disk(tmp_path, "bsd")
    layout = scan_volumes(FileSource(disk), limits=Limits())
    assert layout.scheme == "bsd"
    assert {v.index: (v.start, v.size) for v in layout.volumes} == partx(disk)
    assert [(v.start, v.size) for v in layout.volumes] == [(FS_START, FS_BYTES)]


def bsd_slice_disk(work: Path, *, relative: bool) -> Path:
    """An MBR disk whose one FreeBSD slice (type a5, 1 MiB to 65 MiB) holds parted's disklabel
    and an ext4 filesystem at 2 MiB from the disk's start. parted's label counts from the
    disk (two entries); ``relative`` rewrites it as FreeBSD 10 does: three entries, the
    whole-slice entry "c" at offset 0, offsets from the slice."""
    label = parted_disk(work, "bsd").read_bytes()[:SLICE_START]
    disk = work / "mbr-bsd.raw"
    with disk.open("wb") as f:
        f.truncate(SLICE_START + DISK_BYTES)
    script = f"label: dos\nstart={SLICE_START // 512}, size={DISK_BYTES // 512}, type=a5\n"
    subprocess.run(["sfdisk", "-q", str(disk)], input=script, text=True, check=True)
    with disk.open("r+b") as f:
        f.seek(SLICE_START)
        f.write(label)
        f.seek(FS_START)
        f.write((work / "fs.img").read_bytes())
        if relative:
            entries = SLICE_START + LABEL_AT + 148
            f.seek(SLICE_START + LABEL_AT + 138)
            f.write((3).to_bytes(2, "little"))
            f.seek(entries + 4)  # entry a's offset, now from the slice start
            f.write(((FS_START - SLICE_START) // 512).to_bytes(4, "little"))
            f.seek(entries + 32)  # entry c: the whole slice, offset 0, unused type
            f.write(struct.pack("<IIIBBH", DISK_BYTES // 512, 0, 0, 0, 0, 0))
    return disk


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "freebsd10-relative"])
def test_a_label_in_a_bsd_slice_replaces_the_slice(tmp_path: Path, relative: bool) -> None:
    disk = bsd_slice_disk(tmp_path, relative=relative)
    layout = scan_volumes(FileSource(disk), limits=Limits())
    assert layout.scheme == "mbr"
    ours = [(v.scheme, v.index, v.start, v.size) for v in layout.volumes]
    assert ours == [("bsd", 5, FS_START, FS_BYTES)]
    assert partx(disk)[5] == (FS_START, FS_BYTES)
    report = inspect_image(disk, ImageOptions())
    assert report.inventory is not None and report.inventory.os is not None
    assert report.inventory.os.hostname == "parted-guest"


def test_an_entry_outside_its_slice_is_refused(tmp_path: Path) -> None:
    disk = bsd_slice_disk(tmp_path, relative=False)
    with disk.open("r+b") as f:  # first entry's size
        f.seek(SLICE_START + LABEL_AT + 148)
        f.write((1 << 30).to_bytes(4, "little"))
    layout = scan_volumes(FileSource(disk), limits=Limits())
    assert layout.volumes == ()
    assert [p.reason for p in layout.problems] == ["lies outside the slice that holds the label"]
