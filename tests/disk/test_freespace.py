"""Allocation maps against each filesystem's own tools: dumpe2fs, xfs_db, mtools, ntfsinfo."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pyfsntfs
import pytest

from vmguard.disk.freespace import ext_free, fat_free, ntfs_free, xfs_free
from vmguard.disk.source import FileSource, SourceFile

MiB = 1024 * 1024


def _run(*cmd: str | Path) -> str:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=True).stdout


def _tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    (tree / "a/b").mkdir(parents=True)
    for i in range(40):
        (tree / f"a/file{i}").write_bytes(bytes([i]) * (i * 3000 + 1))
    (tree / "a/b/big").write_bytes(b"x" * (3 * MiB))
    return tree


def _total(ranges: object) -> int:
    return sum(r.length for r in ranges)  # type: ignore[attr-defined]


def test_ext4_free_blocks_match_dumpe2fs(tmp_path: Path) -> None:
    img = tmp_path / "fs.img"
    _run("mkfs.ext4", "-q", "-b", "4096", "-d", _tree(tmp_path), img, "64M")
    _run("debugfs", "-w", "-R", "rm /a/b/big", img)
    ours = list(ext_free(FileSource(img)))
    theirs = []
    for text in re.findall(r"^\s+Free blocks: ([\d\-, ]+)$", _run("dumpe2fs", img), re.M):
        for part in text.split(","):
            lo, _, hi = part.strip().partition("-")
            theirs.append((int(lo) * 4096, (int(hi or lo) + 1) * 4096))
    covered = [(r.offset, r.offset + r.length) for r in ours]
    for lo, hi in theirs:  # every block dumpe2fs calls free is free for us too
        assert any(a <= lo and hi <= b for a, b in covered), (lo, hi)
    # Groups with BLOCK_UNINIT count their own (unwritten) metadata as free: a few blocks.
    assert 0 <= _total(ours) - sum(hi - lo for lo, hi in theirs) <= 64 * 4096


def test_xfs_free_blocks_match_xfs_db(tmp_path: Path) -> None:
    from vmguard.demo.imagebuild import make_xfs

    img = tmp_path / "xfs.img"
    make_xfs(
        img, _tree(tmp_path), 300 * MiB, label="x", fs_uuid="12345678-1234-4234-8234-123456789abc"
    )
    block = int(_run("xfs_db", "-r", "-c", "sb 0", "-c", "p blocksize", img).split("=")[1])
    summary = _run("xfs_db", "-r", "-c", "freesp -s", img)
    free_blocks = int(re.search(r"total free blocks (\d+)", summary).group(1))  # type: ignore[union-attr]
    agcount = int(_run("xfs_db", "-r", "-c", "sb 0", "-c", "p agcount", img).split("=")[1])
    # xfs_db counts the AG free lists (a few blocks the btrees keep in reserve); the
    # free-space btrees, which are what vmguard reads, do not list them.
    agfl = sum(
        int(_run("xfs_db", "-r", "-c", f"agf {ag}", "-c", "p flcount", img).split("=")[1])
        for ag in range(agcount)
    )
    assert _total(xfs_free(FileSource(img))) == (free_blocks - agfl) * block


@pytest.mark.parametrize("fat", ["12", "16", "32"])
def test_fat_free_clusters_match_mtools(tmp_path: Path, fat: str) -> None:
    img = tmp_path / "fat.img"
    with open(img, "wb") as f:
        f.truncate({"12": 4, "16": 64, "32": 80}[fat] * MiB)
    _run("mkfs.vfat", "-F", fat, img)
    small = tmp_path / "small"
    small.write_bytes(b"y" * 70000)
    _run("mcopy", "-i", img, small, "::/small")
    _run("mcopy", "-i", img, small, "::/gone")
    _run("mdel", "-i", img, "::/gone")
    listing = _run("mdir", "-i", img, "::/")
    free = int(re.search(r"([\d ]+) bytes free", listing).group(1).replace(" ", ""))  # type: ignore[union-attr]
    assert _total(fat_free(FileSource(img))) == free


def test_ntfs_free_clusters_match_ntfsinfo(tmp_path: Path) -> None:
    img = tmp_path / "ntfs.img"
    with open(img, "wb") as f:
        f.truncate(64 * MiB)
    subprocess.run(["mkntfs", "-q", "-F", "-Q", str(img)], check=True, capture_output=True)
    info = _run("ntfsinfo", "-m", img)
    free = int(re.search(r"Free Clusters: (\d+)", info).group(1))  # type: ignore[union-attr]
    cluster = int(re.search(r"Cluster Size: (\d+)", info).group(1))  # type: ignore[union-attr]
    volume = pyfsntfs.volume()
    volume.open_file_object(SourceFile(FileSource(img)))
    assert _total(ntfs_free(volume, img.stat().st_size)) == free * cluster


def test_a_deleted_fat_file_is_found_in_free_space(tmp_path: Path) -> None:
    """mdel frees the clusters and leaves the bytes: scan --deleted reports the key there."""
    from vmguard.inspection import ImageOptions
    from vmguard.scanning import ScanOptions, scan_image

    key = _run("openssl", "genpkey", "-algorithm", "ed25519")
    img = tmp_path / "esp.img"
    with open(img, "wb") as f:
        f.truncate(40 * MiB)
    _run("mkfs.vfat", "-F", "32", img)
    (tmp_path / "k.pem").write_text(key)
    _run("mcopy", "-i", img, tmp_path / "k.pem", "::/k.pem")
    _run("mdel", "-i", img, "::/k.pem")
    report = scan_image(img, ScanOptions(image=ImageOptions(), deleted=True))
    found = [(f.rule_id, f.location.area.value) for f in report.findings]
    assert found == [("secret.private-key", "unallocated")]
    offset = report.findings[0].location.offset
    with open(img, "rb") as f:
        f.seek(offset or 0)
        assert f.read(len(key)).decode() == key
