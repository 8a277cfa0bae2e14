"""Filesystem detection on volumes made by real tools (issue 14): an ext3 external journal
device is named ``jbd`` (as ``blkid -p`` names it), never opened as ext3, and an ext3 that
keeps its journal on another device is read without it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from blkidtool import blkid_type
from vmguard.disk.filesystems import detect_filesystem
from vmguard.disk.source import FileSource
from vmguard.inspection import ImageOptions, inspect_image
from vmguard.scanning import ScanOptions, scan_image

pytestmark = pytest.mark.skipif(
    shutil.which("mke2fs") is None or shutil.which("debugfs") is None,
    reason="needs e2fsprogs",
)
MIB = 1 << 20


def journal_device(path: Path) -> Path:
    subprocess.run(["mke2fs", "-F", "-q", "-O", "journal_dev", "-b", "1024", str(path), "4M"],
                   check=True, capture_output=True)  # fmt: skip
    return path


def test_external_journal_device_is_named_not_read(tmp_path: Path) -> None:
    img = journal_device(tmp_path / "journal.img")
    assert blkid_type(img) == "jbd"
    assert detect_filesystem(FileSource(img)).kind == "jbd"
    report = inspect_image(img, ImageOptions())  # was: internal error (AttributeError)
    assert report.inventory is not None
    (part,) = report.inventory.partitions
    assert (part.filesystem, part.mountpoint) == ("jbd", None)
    assert [e.reason for e in report.errors] == [
        "unsupported filesystem jbd (an ext3/ext4 external journal: it holds no files)"
    ]


def test_ext3_with_its_journal_on_another_device_is_read(tmp_path: Path) -> None:
    """mkfs.ext3 -J device= wants a block device; the same superblock is written with
    debugfs: has_journal, no journal inode, the journal device's UUID and number."""
    journal = journal_device(tmp_path / "journal.img")
    uuid = subprocess.run(["blkid", "-p", "-o", "value", "-s", "UUID", str(journal)],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "fstab").write_text("/dev/sda1 / ext3 defaults 0 1\n")
    (tree / "etc" / "os-release").write_text("ID=debian\nVERSION_ID=12\n")
    img = tmp_path / "fs.img"
    subprocess.run(["mkfs.ext3", "-F", "-q", "-b", "1024", "-O", "^has_journal", "-d", str(tree),
                    str(img), "16M"], check=True, capture_output=True)  # fmt: skip
    commands = f"feature has_journal\nssv journal_inum 0\nssv journal_uuid {uuid}\n"
    commands += "ssv journal_dev 0x0701\n"
    subprocess.run(["debugfs", "-w", "-f", "-", str(img)], input=commands, text=True,
                   check=True, capture_output=True)  # fmt: skip
    out = subprocess.run(["blkid", "-p", str(img)], capture_output=True, text=True).stdout
    assert f'EXT_JOURNAL="{uuid}"' in out and 'TYPE="ext3"' in out
    report = inspect_image(img, ImageOptions())
    assert report.inventory is not None and report.inventory.os is not None
    assert report.inventory.os.distro == "debian"
    assert report.errors == ()


def test_a_name_that_is_not_utf8_hides_neither_its_file_nor_its_neighbours(
    tmp_path: Path,
) -> None:
    """libfsext refuses to decode such a name; one used to make the whole directory
    unreadable, so a guest could hide secrets beside it."""
    tree = tmp_path / "tree" / "srv" / "drop"
    tree.mkdir(parents=True)
    (tree / "creds.txt").write_text("aws_access_key_id = AKIAIOSFODNN7EXAMPLQ\n")
    (tree / os.fsdecode(b"x\xff\xfey")).write_text("AKIAIOSFODNN7EXAMPLW\n")
    image = tmp_path / "fs.img"
    subprocess.run(["mkfs.ext4", "-q", "-d", str(tmp_path / "tree"), str(image), "16M"], check=True)
    report = scan_image(image, ScanOptions())
    paths = sorted(f.location.path for f in report.findings if f.rule_id == "secret.aws-access-key")
    assert paths[0].startswith("/srv/drop/<undecodable name, inode ")
    assert paths[1] == "/srv/drop/creds.txt"
    assert not [e for e in report.errors if e.where == "/srv/drop"]


def test_ext4dev_is_named_and_read(tmp_path: Path) -> None:
    """An ext4 marked for in-development code (``-E test_fs``) is ext4dev to blkid; vmguard
    names it so and reads it as the ext4 it is."""
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "os-release").write_text("ID=debian\nVERSION_ID=12\n")
    img = tmp_path / "fs.img"
    subprocess.run(["mkfs.ext4", "-F", "-q", "-E", "test_fs", "-d", str(tree), str(img), "16M"],
                   check=True, capture_output=True)  # fmt: skip
    assert blkid_type(img) == "ext4dev"
    assert detect_filesystem(FileSource(img)).kind == "ext4dev"
    report = inspect_image(img, ImageOptions())
    assert report.inventory is not None and report.inventory.os is not None
    assert report.inventory.os.distro == "debian"
    assert [p.filesystem for p in report.inventory.partitions] == ["ext4dev"]


@pytest.mark.parametrize(
    ("base", "features"),
    [("ext2", ""), ("ext3", ""), ("ext2", "uninit_bg"), ("ext3", "metadata_csum"),
     ("ext3", "inline_data"), ("ext2", "quota")],
)  # fmt: skip
def test_ext2_ext3_or_ext4_by_blkid_feature_rule(tmp_path: Path, base: str, features: str) -> None:
    """Any feature ext3 does not know (metadata_csum, uninit_bg, inline_data, quota, ...)
    makes an ext volume ext4 to blkid, not only extents or flex_bg."""
    img = tmp_path / "fs.img"
    options = ["-O", features] if features else []
    subprocess.run(["mke2fs", "-F", "-q", "-t", base, *options, str(img), "16M"],
                   check=True, capture_output=True)  # fmt: skip
    expected = blkid_type(img)
    assert expected == (base if not features else "ext4")
    assert detect_filesystem(FileSource(img)).kind == expected
