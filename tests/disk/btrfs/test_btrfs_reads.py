"""Partial reads of btrfs files against the source tree, and reads with starved caches.

The walk reads whole files; other callers read windows. A window may start inside one
extent, cross into the next (adjacent on disk or not), cover a hole, or lie past the end.
Inode records are gathered a leaf at a time and bounded; with bounds of one the same bytes
must come back through the one-inode lookup.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from btrfsimages import (
    copy_tree,
    expected_entries,
    guest_entries,
    loop_mount_problem,
    loop_mounted,
    make_source_tree,
    mkfs_btrfs,
    open_guestfs,
    run,
)
from nativemode import rerun_interpreted
from vmguard.disk.btrfs import files as btrfs_files

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_source_tree(tmp_path_factory.mktemp("btrfs-reads") / "tree")


def _windows(size: int) -> list[tuple[int, int]]:
    """Windows around the edges a reader assembles at: sectors, extents (1 MiB apart in
    mkfs's files), the end of the file and past it."""
    found = [(0, size), (1, size), (4095, 4098), (size // 2, size), (max(size - 1, 0), 10)]
    found += [(size, 5), (size + 100, 5)]
    found += [(edge - 3, 7) for edge in range(MiB, size, MiB)]
    found += [(edge - 5000, 2 * 5000) for edge in range(MiB, size, MiB)]
    return found


def _image(tree: Path, work: Path, maker: str) -> Path:
    """The tree on btrfs: written by mkfs (files dense, extents adjacent on disk), by mkfs
    with explicit hole extents, or by the kernel through a loop mount (sparse files keep
    their holes; with zstd, compressed extents)."""
    if maker.startswith("mkfs"):
        image = mkfs_btrfs(
            tree, work / "fs.raw", *(("-O", "^no-holes") if "holes" in maker else ())
        )
        if maker.endswith("qcow2"):
            run("qemu-img", "convert", "-O", "qcow2", image, work / "fs.qcow2")
            return work / "fs.qcow2"
        return image
    problem = loop_mount_problem()
    if problem is not None:
        pytest.skip(f"kernel-written btrfs needs a loop mount: {problem}")
    image = mkfs_btrfs(None, work / "fs.raw")
    with loop_mounted(image, "compress-force=zstd" if maker.endswith("zstd") else "") as mnt:
        copy_tree(tree, mnt)
    return image


@pytest.mark.parametrize("maker", ["mkfs", "mkfs-holes", "mkfs-qcow2", "kernel", "kernel-zstd"])
def test_windows_of_every_file_read_as_the_source(tree: Path, tmp_path: Path, maker: str) -> None:
    image = _image(tree, tmp_path, maker)
    guestfs = open_guestfs(image)
    wrong = []
    checked = 0
    for source in sorted(p for p in tree.rglob("*") if not p.is_symlink() and p.is_file()):
        path = "/" + source.relative_to(tree).as_posix()
        found = guestfs.resolve(path, follow=False)
        assert found is not None, path
        _, mount, node = found
        content = source.read_bytes()
        for offset, length in _windows(len(content)):
            got = guestfs.read_node(mount, node, offset, length)
            checked += 1
            if got != content[offset : offset + length]:
                wrong.append((path, offset, length))
    assert checked > 1000
    assert wrong == []


@pytest.mark.parametrize("starve", ["records-of-one", "no-leaf-pass"])
def test_starved_inode_records_give_the_same_tree(
    tree: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    starve: str,
    request: pytest.FixtureRequest,
) -> None:
    if starve == "no-leaf-pass" and rerun_interpreted(request):
        return  # leaf_files is called natively in the compiled build: patch it where it works
    image = mkfs_btrfs(tree, tmp_path / "fs.raw", "-O", "^no-holes")
    if starve == "records-of-one":
        monkeypatch.setattr(btrfs_files, "_FILE_RECORDS", 1)
        monkeypatch.setattr(btrfs_files, "_LEAF_BYTES", 0)
    else:  # every inode found alone, its extents read with the file past the first one
        monkeypatch.setattr(btrfs_files, "leaf_files", lambda *_args: {})
        monkeypatch.setattr(btrfs_files, "_EAGER_EXTENTS", 1)
    guestfs = open_guestfs(image)
    expected = expected_entries(tree)
    actual = guest_entries(guestfs)
    assert sorted(set(expected) ^ set(actual)) == []
    assert {p: actual[p] for p in expected if expected[p] != actual[p]} == {}
