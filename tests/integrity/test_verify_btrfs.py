"""verify on a btrfs guest: tampered bytes are traced back to the btrfs files they belong to.

The tampered offsets are found by searching the image for the files' own bytes (not through
the reader under test); a small file lives inline in a tree leaf, a larger one in a data
extent, and both must be named. Metadata is DUP (mkfs's default): the tampered leaf copy
fails its checksum and the reader uses the other, as the kernel would.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from btrfsimages import mkfs_btrfs
from conftest import qemu_write
from vmguard.demo.imagebuild import LINUX_TYPE, PartitionSpec, assemble_gpt
from vmguard.integrity.errors import BundleModified
from vmguard.integrity.keys import KeyType
from vmguard.integrity.sign import SignOptions, build_manifest, sign_manifest
from vmguard.integrity.trust import load_trust
from vmguard.integrity.verify import VerifyOptions, verify_bundle


def test_tampered_btrfs_files_are_named(key_pairs, tmp_path: Path) -> None:
    rng = random.Random(7)
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "usr/bin").mkdir(parents=True)
    shadow = b"root:$6$INLINE-SHADOW-MARKER$" + rng.randbytes(40).hex().encode() + b":19000::::::\n"
    (tree / "etc/shadow").write_bytes(shadow)
    tool = rng.randbytes(300_000)
    (tree / "usr/bin/tool").write_bytes(tool)
    for i in range(50):
        (tree / "etc" / f"other-{i}.conf").write_bytes(rng.randbytes(rng.randrange(10, 30_000)))
    fs = mkfs_btrfs(tree, tmp_path / "btrfs.img", size=128 * 1024 * 1024)
    disk = tmp_path / "disk.raw"
    assemble_gpt(
        disk,
        [PartitionSpec(fs, LINUX_TYPE, "12345678-1234-4234-8234-123456789abc", "root")],
        disk_guid="87654321-4321-4321-8321-cba987654321",
    )
    pair = key_pairs[KeyType.ED25519]
    envelope = sign_manifest(build_manifest([disk], SignOptions()), pair.signing())
    content = disk.read_bytes()
    targets = [content.find(b"INLINE-SHADOW-MARKER"), content.find(tool[200_000:200_064])]
    assert all(t > 0 for t in targets)
    for offset in targets:
        qemu_write(disk, "raw", offset // 512 * 512, b"\x41" * 512)
    with pytest.raises(BundleModified) as caught:
        verify_bundle([disk], envelope, load_trust([pair.public]), VerifyOptions())
    (change,) = caught.value.changes
    named = {hit.path for hit in change.guest_files}
    assert {"/etc/shadow", "/usr/bin/tool"} <= named
    assert len(named) < 20
