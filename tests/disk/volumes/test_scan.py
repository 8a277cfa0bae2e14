"""scan_volumes end to end: bare filesystems are not tables, and nothing escapes."""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from memsource import BytesSource
from vmguard.disk.limits import Limits
from vmguard.disk.volumes.mbr import looks_like_mbr
from vmguard.disk.volumes.scan import scan_volumes

MIB = 1 << 20


def make_fs(tmp_path: Path, *cmd: str) -> bytes:
    tool = cmd[0]
    if shutil.which(tool) is None:
        pytest.skip(f"needs {tool}")
    img = tmp_path / "fs.img"
    with img.open("wb") as f:
        f.truncate(16 * MIB)
    subprocess.run([*cmd, str(img)], check=True, capture_output=True)
    return img.read_bytes()


@pytest.mark.parametrize(
    "cmd",
    [("mkfs.ext4", "-q", "-F"), ("mkfs.vfat",), ("mkfs.vfat", "-F", "32"),
     ("mkntfs", "-F", "-Q", "-q")],
    ids=["ext4", "fat16", "fat32", "ntfs"],
)  # fmt: skip
def test_bare_filesystem_is_scheme_none(tmp_path: Path, cmd: tuple[str, ...]) -> None:
    """FAT and NTFS boot sectors end in 0x55AA too; they are not partition tables."""
    data = make_fs(tmp_path, *cmd)
    if cmd[0] != "mkfs.ext4":
        assert data[510:512] == b"\x55\xaa"
    assert not looks_like_mbr(data[:512])
    layout = scan_volumes(BytesSource(data), limits=Limits())
    assert (layout.scheme, layout.problems) == ("none", ())
    (vol,) = layout.volumes
    assert (vol.index, vol.scheme, vol.start, vol.size) == (1, "none", 0, len(data))
    assert vol.source.read_at(0, 512) == data[:512]


@pytest.mark.parametrize("size", [0, 1, 511, 513, 4096])
def test_empty_and_tiny_disks(size: int) -> None:
    layout = scan_volumes(BytesSource(bytes(size)), limits=Limits())
    assert layout.scheme == "none"
    assert layout.volumes[0].size == size


def _sfdisk_image(tmp_path: Path, script: str) -> bytes:
    if shutil.which("sfdisk") is None:
        pytest.skip("needs sfdisk")
    img = tmp_path / "disk.img"
    with img.open("wb") as f:
        f.truncate(4 * MIB)
    subprocess.run(["sfdisk", "-q", str(img)], input=script, text=True, check=True)
    return img.read_bytes()


def _fix_gpt_crcs(data: bytearray) -> None:
    """Make a mutated primary header and array pass their CRCs, so the bounds are hit."""
    entries_lba, count, size = struct.unpack_from("<QII", data, 512 + 72)
    if entries_lba < 64 and count * size <= 64 * 1024:
        array = bytes(data[entries_lba * 512 : entries_lba * 512 + count * size])
        struct.pack_into("<I", data, 512 + 88, zlib.crc32(array))
    header_size = min(struct.unpack_from("<I", data, 512 + 12)[0], 512)
    struct.pack_into("<I", data, 512 + 16, 0)
    struct.pack_into("<I", data, 512 + 16, zlib.crc32(bytes(data[512 : 512 + header_size])))


@pytest.mark.parametrize(
    "script",
    [
        "label: gpt\nsize=1M, name=a\nsize=1M, name=b\n",
        "label: dos\nsize=1M\nstart=4096, type=5\nstart=5120, size=512\nstart=6144, size=512\n",
    ],
    ids=["gpt", "mbr"],
)
def test_mutated_tables_never_raise(tmp_path: Path, script: str) -> None:
    """Random byte and field mutations of real tables: always a layout, never an exception."""
    original = _sfdisk_image(tmp_path, script)
    rng = random.Random(20261130)
    hot = list(range(512, 604)) + list(range(1024, 1280))  # GPT header and first entries
    for sector in range(0, len(original), 512):  # the MBR and every EBR
        if original[sector + 510 : sector + 512] == b"\x55\xaa":
            hot += range(sector + 446, sector + 510)
    for _ in range(300):
        data = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            spot = rng.choice(hot)
            data[spot] = rng.choice([0, 0xFF, 0xEE, 0x05, 0x80, rng.randrange(256)])
        if rng.random() < 0.5:
            _fix_gpt_crcs(data)
        if rng.random() < 0.2:
            data = data[: rng.randrange(512, len(data))]
        layout = scan_volumes(BytesSource(bytes(data)), limits=Limits())
        for vol in layout.volumes:
            assert vol.start >= 0 and vol.start + vol.size <= len(data)
            assert vol.source.size == vol.size
