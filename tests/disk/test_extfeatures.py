"""ext4 made with features libfsext does not know but reading never needs: read anyway,
byte for byte, and only those feature bits are hidden from libfsext."""

from __future__ import annotations

import os
import random
import struct
import subprocess
from pathlib import Path

import pytest

from memsource import BytesSource
from vmguard.disk.extfeatures import with_readable_features
from vmguard.disk.guestfs import GuestFS
from vmguard.disk.source import FileSource
from vmguard.inspection import ImageOptions, open_guest

FILES = 3000
"""Enough entries for an htree-indexed directory."""


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    (root / "etc").mkdir()
    (root / "etc/os-release").write_text('ID=debian\nVERSION_ID="13"\n')
    (root / "etc/hostname").write_text("features\n")
    many = root / "var/spool/many"
    many.mkdir(parents=True)
    for i in range(FILES):
        (many / f"message-{i:05d}.eml").write_text(f"message {i}\n" * (i % 7 + 1))
    (root / "blob").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    return root


def mkfs(tree: Path, image: Path, *options: str) -> Path:
    subprocess.run(
        ["mkfs.ext4", "-q", "-F", *options, "-d", tree, image, "300M"],
        check=True,
        capture_output=True,
    )
    return image


def assert_reads_like(fs: GuestFS, tree: Path) -> None:
    count = 0
    for path in tree.rglob("*"):
        if path.is_file():
            guest = "/" + str(path.relative_to(tree))
            assert fs.read_file(guest, 1 << 30) == path.read_bytes(), guest
            count += 1
    assert count == FILES + 3


@pytest.mark.parametrize(
    "features",
    [
        ["-O", "large_dir"],
        ["-O", "stable_inodes"],
        ["-O", "fast_commit"],
        ["-O", "sparse_super2"],
        ["-O", "mmp"],
        ["-b", "4096", "-g", "2048", "-O", "large_dir,stable_inodes,fast_commit,sparse_super2,mmp"],
    ],
)
def test_read_byte_for_byte(tree: Path, tmp_path: Path, features: list[str]) -> None:
    image = mkfs(tree, tmp_path / "fs.img", *features)
    guest = open_guest(image, ImageOptions())
    assert guest.layout.guestfs is not None, guest.layout
    assert_reads_like(guest.layout.guestfs, tree)
    assert guest.facts is not None and guest.facts.os.hostname == "features"


def test_only_the_harmless_bits_change(tree: Path, tmp_path: Path) -> None:
    image = mkfs(tree, tmp_path / "fs.img", "-O", "large_dir,stable_inodes,fast_commit")
    dumped = subprocess.run(["dumpe2fs", image], capture_output=True, text=True).stdout
    sizes = [line for line in dumped.splitlines() if line.startswith("Block size:")]
    block = int(sizes[0].split()[-1])
    copies = [1024] + [
        int(line.split("at ")[1].split(",")[0]) * block
        for line in dumped.splitlines()
        if "Backup superblock at" in line
    ]
    assert len(copies) > 3
    with FileSource(image) as source:
        view = with_readable_features(source)
        original, seen = source.read_at(0, source.size), view.read_at(0, source.size)
        assert len(seen) == len(original)
        differing = [
            i for i in range(0, len(original), 4) if original[i : i + 4] != seen[i : i + 4]
        ]
        assert set(differing) == {c + 0x5C for c in copies} | {c + 0x60 for c in copies}
        for c in copies:
            compat, incompat = struct.unpack_from("<II", seen, c + 0x5C)
            assert not compat & 0xE00 and not incompat & 0x4100
        # Unaligned reads across a copy's feature words see the same bytes.
        for c in copies:
            for start in range(c + 0x58, c + 0x66):
                assert view.read_at(start, 11) == seen[start : start + 11]


def test_other_unknown_features_are_still_refused(tree: Path, tmp_path: Path) -> None:
    image = mkfs(tree, tmp_path / "fs.img", "-O", "large_dir")
    data = bytearray(image.read_bytes())
    incompat = struct.unpack_from("<I", data, 1024 + 0x60)[0]
    struct.pack_into("<I", data, 1024 + 0x60, incompat | 0x80000000)  # no such feature
    image.write_bytes(bytes(data))
    guest = open_guest(image, ImageOptions())
    assert guest.layout.guestfs is None
    assert "unsupported incompatible features" in str(guest.layout.problems)


def test_stale_backup_left_by_a_resize(tree: Path, tmp_path: Path) -> None:
    """sparse_super2 keeps two backups; after resize2fs they move and the old one stays on
    disk, in a group where libfsext still looks (it reads the sparse_super groups)."""
    image = tmp_path / "fs.img"
    subprocess.run(
        ["mkfs.ext4", "-q", "-F", "-O", "sparse_super2,stable_inodes", "-d", tree, image, "80M"],
        check=True,
        capture_output=True,
    )
    subprocess.run(["truncate", "-s", "300M", image], check=True)
    subprocess.run(["resize2fs", "-f", image, "300M"], check=True, capture_output=True)
    guest = open_guest(image, ImageOptions())
    assert guest.layout.guestfs is not None, guest.layout.problems
    assert_reads_like(guest.layout.guestfs, tree)


@pytest.mark.parametrize(
    ("log_block", "per_group", "first_block", "sparse"),
    [(0, 8, 1, True), (2, 4, 0, True), (0, 1, 1, False), (2, 2, 0, False), (0, 1, 5, False),
     (0, 2, 9, True)],
)  # fmt: skip
def test_every_copy_is_masked_for_any_read(
    log_block: int, per_group: int, first_block: int, sparse: bool
) -> None:
    """Any geometry a superblock may claim, hostile ones too (first data block beyond a
    group): every read sees every copy's feature words masked, and nothing else changed."""
    rng = random.Random(log_block * 100 + per_group * 10 + first_block)
    block = 1024 << log_block
    data = bytearray(rng.randbytes(first_block * block + 40 * per_group * block))
    expected = bytearray(data)
    for group in range(40):
        at = 1024 if group == 0 else (first_block + group * per_group) * block
        is_copy = group in (0, 1) or not sparse or any(_power(group, b) for b in (3, 5, 7))
        if not is_copy or at + 1024 > len(data):
            continue
        for image in (data, expected):
            image[at + 0x38 : at + 0x3A] = b"\x53\xef"
            struct.pack_into("<IIII", image, at + 0x14, first_block, log_block, 0, per_group)
        struct.pack_into("<III", data, at + 0x5C, 0xC3C, 0x4142, int(sparse))
        struct.pack_into("<III", expected, at + 0x5C, 0x03C, 0x0042, int(sparse))
    view = with_readable_features(BytesSource(bytes(data)))
    for _ in range(1500):
        offset = rng.randrange(len(data))
        length = rng.choice([1, 7, 8, 9, 100, 1024, 5000, 100_000])
        assert view.read_at(offset, length) == expected[offset : offset + length]


def _power(n: int, base: int) -> bool:
    while n > 1 and n % base == 0:
        n //= base
    return n == 1


def test_a_superblock_claiming_far_more_than_its_volume_is_refused(tmp_path: Path) -> None:
    """Found by fuzzing: a superblock claiming 875 GB in 1 KiB blocks on a small volume made
    libfsext read every group descriptor the claim implies (seconds, growing with the claim)."""
    from vmguard.disk.errors import CorruptImage
    from vmguard.disk.filesystems import detect_filesystem, open_filesystem

    image = tmp_path / "small.ext4"
    subprocess.run(["mkfs.ext4", "-q", "-F", "-b", "1024", str(image), "8M"], check=True)
    data = bytearray(image.read_bytes())
    fits = BytesSource(bytes(data))
    assert open_filesystem(fits, detect_filesystem(fits)).kind == "ext4"
    struct.pack_into("<I", data, 1024 + 4, 875_827_200)  # s_blocks_count_lo
    claims = BytesSource(bytes(data))
    with pytest.raises(CorruptImage, match="more than twice its"):
        open_filesystem(claims, detect_filesystem(claims))
