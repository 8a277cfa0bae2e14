"""Disks with the partition tables parted writes (mac, bsd, sun, dvh, amiga, atari), each
with one ext4 partition made by ``mkfs.ext4 -d``, and what ``partx`` (libblkid) reads."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

needs_parted = pytest.mark.skipif(
    shutil.which("parted") is None or shutil.which("partx") is None,
    reason="needs parted and partx",
)
DISK_BYTES = 64 << 20
FS_START = 2 << 20
FS_BYTES = 58 << 20


def ext4_tree(work: Path) -> Path:
    """An ext4 filesystem image holding a small Debian-like /etc."""
    tree = work / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc/os-release").write_text('ID=debian\nVERSION_ID=12\nNAME="Debian GNU/Linux"\n')
    (tree / "etc/hostname").write_text("parted-guest\n")
    fs = work / "fs.img"
    subprocess.run(["mkfs.ext4", "-q", "-d", str(tree), str(fs), "58M"], check=True)
    return fs


def parted_disk(work: Path, label: str, *, size: int = DISK_BYTES) -> Path:
    """A disk with a ``label`` table and one partition from 2 MiB to 60 MiB holding ext4."""
    disk = work / f"{label}.raw"
    with disk.open("wb") as f:
        f.truncate(size)
    subprocess.run(["parted", "-s", str(disk), "mklabel", label], check=True)
    # "primary" is a name (mac, amiga) or a type (dvh, atari); bsd and sun take neither
    named = ["parted", "-s", str(disk), "mkpart", "primary", "ext4", "2MiB", "60MiB"]
    if subprocess.run(named, capture_output=True, check=False).returncode != 0:
        subprocess.run(["parted", "-s", str(disk), "mkpart", "ext4", "2MiB", "60MiB"], check=True)
    fs = work / "fs.img" if (work / "fs.img").exists() else ext4_tree(work)
    with disk.open("r+b") as f:
        f.seek(FS_START)
        f.write(fs.read_bytes())
    return disk


def partx(disk: Path) -> dict[int, tuple[int, int]]:
    """Partition number -> (start, size) in bytes, as libblkid reads them."""
    out = subprocess.run(
        ["partx", "--show", "--bytes", "--noheadings", "-o", "NR,START,SECTORS", str(disk)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows = (line.split() for line in out.splitlines() if line.strip())
    return {int(nr): (int(start) * 512, int(sectors) * 512) for nr, start, sectors in rows}
