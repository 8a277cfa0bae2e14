"""Format probing against qemu's on images from the real-world corpus' odd corners (issue 14):
a raw file of a size that is not whole sectors, and a raw NTFS volume ending in a VHD footer."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from vmguard.disk.image import open_image
from vmguard.disk.probe import detect_format
from vmguard.disk.source import FileSource
from vmguard.inspection import ImageOptions, inspect_image

pytestmark = pytest.mark.skipif(
    shutil.which("qemu-img") is None or shutil.which("mkfs.ntfs") is None,
    reason="needs qemu-img and mkfs.ntfs",
)
MIB = 1 << 20


def qemu_info(path: Path) -> dict[str, object]:
    """What qemu makes of a file when it probes the format itself."""
    out = subprocess.run(
        ["qemu-img", "info", "--output=json", str(path)], capture_output=True, check=True
    )
    info: dict[str, object] = json.loads(out.stdout)
    return info


def qemu_raw(path: Path, tmp_path: Path) -> bytes:
    """The guest-visible bytes as qemu reads them, format probed."""
    out = tmp_path / (path.name + ".qemu")
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(path), str(out)], check=True)
    return out.read_bytes()


def ntfs_volume(path: Path, size: int) -> Path:
    with path.open("wb") as f:
        f.truncate(size)
    subprocess.run(["mkfs.ntfs", "-F", "-q", "-f", "-L", "DATA", str(path)], check=True,
                   capture_output=True)  # fmt: skip
    return path


@pytest.mark.parametrize("size", [1000, 4 * MIB + 1, 4 * MIB + 511])
def test_raw_size_rounds_up_to_whole_sectors_like_qemu(tmp_path: Path, size: int) -> None:
    img = tmp_path / "odd.img"
    img.write_bytes(bytes(range(256)) * (size // 256) + b"\x01" * (size % 256))
    (disk,) = open_image(img).disks
    assert disk.disk.size == qemu_info(img)["virtual-size"]
    assert disk.disk.read_at(0, disk.disk.size) == qemu_raw(img, tmp_path)
    ranges = list(disk.disk.data_ranges())  # type: ignore[attr-defined]
    assert ranges and ranges[-1].offset + ranges[-1].length <= size  # the zero tail: no data


def test_ntfs_volume_ending_in_a_foreign_vhd_footer_is_read_as_qemu_reads_it(
    tmp_path: Path,
) -> None:
    """A raw NTFS volume with the footer of another (smaller) fixed VHD appended: qemu's
    probe reads it as raw; vmguard too, and says why in errors."""
    small = ntfs_volume(tmp_path / "small.raw", 2 * MIB)
    vhd = tmp_path / "small.vhd"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed",
                    str(small), str(vhd)], check=True)  # fmt: skip
    img = tmp_path / "ntfs-with-footer.img"
    img.write_bytes(
        ntfs_volume(tmp_path / "big.raw", 8 * MIB).read_bytes() + vhd.read_bytes()[-512:]
    )
    info = qemu_info(img)
    assert info["format"] == "raw"
    detection = detect_format(FileSource(img), img.name)
    assert detection.format == "raw"
    assert detection.note is not None and "read as raw, as qemu" in detection.note
    (disk,) = open_image(img).disks
    assert disk.disk.size == info["virtual-size"]
    assert disk.disk.read_at(0, disk.disk.size) == qemu_raw(img, tmp_path)
    report = inspect_image(img, ImageOptions())
    assert report.inventory is not None
    assert [(p.filesystem, p.label) for p in report.inventory.partitions] == [("ntfs", "DATA")]
    assert report.errors[0].where == "image"
    assert "VHD footer" in report.errors[0].reason


def test_consistent_fixed_vhd_is_still_a_vhd(tmp_path: Path) -> None:
    raw = ntfs_volume(tmp_path / "vol.raw", 2 * MIB)
    vhd = tmp_path / "vol.vhd"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed",
                    str(raw), str(vhd)], check=True)  # fmt: skip
    detection = detect_format(FileSource(vhd), vhd.name)
    assert (detection.format, detection.note) == ("vhd", None)
    (disk,) = open_image(vhd).disks
    assert disk.disk.read_at(0, raw.stat().st_size) == raw.read_bytes()
