"""Hostile btrfs images: real images patched as an attacker would (checksums kept valid).

Each runs through the real command in a fresh process (1 GiB address-space cap, time
limit). As for every filesystem, what cannot be read is named in ``errors`` in one line —
against the partition when the filesystem cannot be opened, against the directory or file
met during the walk, and the rest is still scanned; a tree that breaks under an inode
lookup stops the run with one ``vmguard: error:`` line and exit 2 (which one a case meets
depends on where mkfs placed the items: the order of the source directory). Never a
traceback, a hang or unbounded memory.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from btrfsimages import (
    copy_tree,
    loop_mount_problem,
    loop_mounted,
    make_source_tree,
    mkfs_btrfs,
    patch_superblocks,
    patch_tree_block,
    physical_of,
    run,
    tree_blocks,
)
from clirunner import Run, vmguard

HEADER = 101
NODE_PTR = 33
LEAF_ITEM = 25
SYS_CHUNK_ARRAY = 0x32B


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("hostile-btrfs")
    tree = make_source_tree(work / "tree")
    return mkfs_btrfs(tree, work / "pristine.raw", "-m", "single")


def _fs_root(image: Path) -> int:
    address, level = tree_blocks(image, "fs")[0]
    assert level >= 1, "the source tree must make an FS tree with internal nodes"
    return address


def _child(image: Path, node: int, index: int) -> bytes:
    with open(image, "rb") as f:
        f.seek(physical_of(image, node) + HEADER + index * NODE_PTR + 17)
        return f.read(8)


def _cycle(image: Path) -> None:
    root = _fs_root(image)
    patch_tree_block(image, root, HEADER + NODE_PTR + 17, _child(image, root, 0))


def _self_pointer(image: Path) -> None:
    root = _fs_root(image)
    patch_tree_block(image, root, HEADER + NODE_PTR + 17, struct.pack("<Q", root))


def _too_deep(image: Path) -> None:
    patch_tree_block(image, _fs_root(image), 0x64, b"\x09")


def _huge_item_count(image: Path) -> None:
    leaf = next(a for a, level in tree_blocks(image, "fs") if level == 0)
    patch_tree_block(image, leaf, 0x60, struct.pack("<I", 0xFFFFFFFF))


def _item_past_block(image: Path) -> None:
    leaf = next(a for a, level in tree_blocks(image, "fs") if level == 0)
    patch_tree_block(image, leaf, HEADER + 17, struct.pack("<II", 0xFFFF0000, 0x1000))


def _chunk_past_end(image: Path) -> None:
    stripe_offset = SYS_CHUNK_ARRAY + 17 + 48 + 8
    patch_superblocks(image, stripe_offset, struct.pack("<Q", 1 << 40))


def _stripe_on_other_device(image: Path) -> None:
    patch_superblocks(image, SYS_CHUNK_ARRAY + 17 + 48, struct.pack("<Q", 7))


def _run(image: Path) -> Run:
    result = vmguard("scan", "--format", "json", image, timeout=60)
    assert "Traceback" not in result.stderr
    return result


def _assert_stops(result: Run, message: str) -> None:
    assert result.code == 2, (result.code, result.stderr[-400:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vmguard: error: "), result.stderr
    assert re.search(message, lines[0]), lines[0]


def _assert_refused(result: Run, message: str) -> None:
    """Either way, the one line that says why."""
    (_assert_stops if result.code == 2 else _assert_listed)(result, message)


def _assert_listed(result: Run, message: str) -> None:
    assert result.code in (0, 1), result.stderr  # 1: findings in what could still be read
    errors = json.loads(result.stdout)["errors"]
    assert all("\n" not in e["message"] for e in errors), errors
    assert any(re.search(message, e["message"]) for e in errors), errors


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (_cycle, "is reached twice|does not hold the keys its parent names"),
        (_self_pointer, "is reached twice|has level 1, expected 0"),
        (_too_deep, "has level 9"),
        (_huge_item_count, "claims 4294967295 items"),
        (_item_past_block, "item out of bounds"),
        (_chunk_past_end, "maps past the end of the device"),
        (_stripe_on_other_device, "multi-device btrfs is not read"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_patched_structures_are_refused_in_one_line(
    pristine: Path,
    tmp_path: Path,
    patch: Callable[[Path], None],
    message: str,
) -> None:
    image = tmp_path / "hostile.raw"
    shutil.copyfile(pristine, image)
    patch(image)
    _assert_refused(_run(image), message)


def test_a_broken_checksum_is_refused(pristine: Path, tmp_path: Path) -> None:
    image = tmp_path / "hostile.raw"
    shutil.copyfile(pristine, image)
    leaf = next(a for a, level in tree_blocks(image, "fs") if level == 0)
    with open(image, "r+b") as f:
        f.seek(physical_of(image, leaf) + 200)
        f.write(b"tampered")
    _assert_refused(_run(image), "fails its checksum")


def test_a_filesystem_over_two_devices_is_named_and_refused(tmp_path: Path) -> None:
    first, second = tmp_path / "dev1.raw", tmp_path / "dev2.raw"
    for device in (first, second):
        with open(device, "wb") as f:
            f.truncate(256 * 1024 * 1024)
    run("mkfs.btrfs", "-q", "-d", "raid1", "-m", "raid1", first, second)
    _assert_listed(_run(first), "spans 2 devices; multi-device btrfs is not read")


def test_compressed_extent_claiming_a_huge_size(tmp_path: Path) -> None:
    problem = loop_mount_problem()
    if problem is not None:
        pytest.skip(f"compressed extents are written through a loop mount: {problem}")
    image = mkfs_btrfs(None, tmp_path / "zstd.raw", "-m", "single")
    with loop_mounted(image, "compress-force=zstd") as mnt:
        copy_tree(make_source_tree(tmp_path / "tree"), mnt)
    dump = run("btrfs", "inspect-internal", "dump-tree", "-t", "fs", image)
    leaf = itemoff = None
    for line in dump.splitlines():
        words = line.split()
        if words[:1] == ["leaf"]:
            leaf = int(words[1])
        elif "itemoff" in words:
            itemoff = int(words[words.index("itemoff") + 1])
        elif words[:3] == ["extent", "compression", "3"]:
            break
    assert leaf is not None and itemoff is not None
    patch_tree_block(image, leaf, HEADER + itemoff + 8, struct.pack("<Q", 1 << 40))
    _assert_refused(_run(image), "compressed extent claims 1099511627776 bytes")
