"""The btrfs reader against the trees the images were made from: every file, byte for byte.

Images come from ``mkfs.btrfs --rootdir`` with each metadata/data profile and checksum type
this btrfs-progs makes on one device, read raw and through qcow2; compressed images are
written by the kernel through a loop mount (skipped where the machine has none).
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
from vmguard.disk.btrfs.superblock import read_superblock
from vmguard.disk.filesystems import detect_filesystem
from vmguard.disk.guestfs import GuestFS
from vmguard.disk.source import FileSource


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_source_tree(tmp_path_factory.mktemp("btrfs-src") / "tree")


def _assert_same(guestfs: GuestFS, tree: Path) -> None:
    expected = expected_entries(tree)
    actual = guest_entries(guestfs)
    assert sorted(set(expected) ^ set(actual)) == []
    wrong = {p: (expected[p], actual[p]) for p in expected if expected[p] != actual[p]}
    assert wrong == {}


@pytest.mark.parametrize(
    "options",
    [
        (),
        ("-d", "dup"),
        ("-m", "single"),
        ("-d", "raid0", "-m", "raid0"),
        ("--csum", "xxhash"),
        ("--csum", "sha256"),
        ("--csum", "blake2"),
        ("--nodesize", "4096"),
        ("--nodesize", "65536"),
        ("-O", "^no-holes"),
        ("--mixed",),
    ],
    ids=lambda o: "-".join(x.strip("-^") for x in o) or "default",
)
def test_mkfs_rootdir_image_reads_as_its_source_tree(
    tree: Path, tmp_path: Path, options: tuple[str, ...]
) -> None:
    image = mkfs_btrfs(tree, tmp_path / "fs.raw", *options)
    _assert_same(open_guestfs(image), tree)


def test_through_qcow2(tree: Path, tmp_path: Path) -> None:
    raw = mkfs_btrfs(tree, tmp_path / "fs.raw")
    qcow2 = tmp_path / "fs.qcow2"
    run("qemu-img", "convert", "-O", "qcow2", raw, qcow2)
    _assert_same(open_guestfs(qcow2), tree)


def test_xattrs_are_read(tree: Path, tmp_path: Path) -> None:
    image = mkfs_btrfs(tree, tmp_path / "fs.raw")
    guestfs = open_guestfs(image)
    found = guestfs.resolve("/text-100", follow=False)
    assert found is not None
    fs = found[1].fs
    assert fs.xattrs(found[2])["user.comment"] == b"an extended attribute"  # type: ignore[attr-defined]
    hard = guestfs.resolve("/hard")
    assert hard is not None
    assert fs.xattrs(hard[2])["user.dir-note"] == b"\x00binary\xff"  # type: ignore[attr-defined]


def test_hard_links_share_one_inode(tree: Path, tmp_path: Path) -> None:
    guestfs = open_guestfs(mkfs_btrfs(tree, tmp_path / "fs.raw"))
    first, second = guestfs.stat("/text-4097"), guestfs.stat("/hard/second-name")
    assert first is not None and second is not None
    assert first.inode == second.inode


def _needs_loop_mount() -> None:
    problem = loop_mount_problem()
    if problem is not None:
        pytest.skip(f"kernel-written btrfs cases need a loop mount: {problem}")


@pytest.mark.parametrize("method", ["zlib", "lzo", "zstd"])
def test_kernel_compressed_extents_read_as_source(tree: Path, tmp_path: Path, method: str) -> None:
    _needs_loop_mount()
    image = mkfs_btrfs(None, tmp_path / "fs.raw")
    with loop_mounted(image, f"compress-force={method}") as mnt:
        copy_tree(tree, mnt)
    guestfs = open_guestfs(image)
    _assert_same(guestfs, tree)
    found = guestfs.resolve("/big-text")
    assert found is not None
    extents = found[1].fs.reader.extents(found[2])[1]  # type: ignore[attr-defined]
    compressed = [e for e in extents if e.compression == ("zlib", "lzo", "zstd").index(method) + 1]
    assert len(compressed) >= 10


def test_a_broken_primary_superblock_falls_back_to_its_mirror(tree: Path, tmp_path: Path) -> None:
    image = mkfs_btrfs(tree, tmp_path / "fs.raw", "-L", "mirrored")
    with open(image, "r+b") as f:  # not a checksum fix: the primary copy is now invalid
        f.seek(0x10000 + 0x70)
        f.write(b"\xff" * 8)
    source = FileSource(image)
    assert read_superblock(source).copy_offset == 0x4000000
    _assert_same(open_guestfs(image), tree)


def test_label_and_uuid_reach_the_inventory(tree: Path, tmp_path: Path) -> None:
    uuid = "0f1e2d3c-4b5a-4968-8776-655443322110"
    image = mkfs_btrfs(tree, tmp_path / "fs.raw", "-L", "data-vol", "-U", uuid)
    signature = detect_filesystem(FileSource(image))
    assert (signature.kind, signature.uuid, signature.label) == ("btrfs", uuid, "data-vol")
