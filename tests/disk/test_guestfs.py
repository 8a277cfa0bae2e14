"""GuestFS against the trees the image was built from: every file, byte for byte.

This is the check that the libyal filesystem readers (ext4, XFS, FAT) read what the tools
wrote: no file missing, none extra, same content, same symlink targets, same owners/modes.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from vmguard.disk.guestfs import GuestFS, GuestPathError
from vmguard.inspection import ImageOptions, open_guest


def _guestfs(image: Path) -> GuestFS:
    guest = open_guest(image, ImageOptions())
    assert guest.layout.guestfs is not None
    return guest.layout.guestfs


def _source_files(disk_dir: Path) -> dict[str, tuple[str, int, int, int, str | None]]:
    """guest path -> (kind, mode, uid, size, sha256-or-link-target) from the source trees."""
    expected: dict[str, tuple[str, int, int, int, str | None]] = {}
    for mountpoint, tree in (
        ("", disk_dir / "root"),
        ("/home", disk_dir / "home"),
        ("/boot/efi", disk_dir / "esp"),
    ):
        for dirpath, dirnames, filenames in os.walk(tree):
            for name in dirnames + filenames:
                full = Path(dirpath) / name
                guest = mountpoint + "/" + full.relative_to(tree).as_posix()
                st = full.lstat()
                if stat.S_ISLNK(st.st_mode):
                    expected[guest] = ("link", 0, st.st_uid, 0, os.readlink(full))
                elif stat.S_ISREG(st.st_mode):
                    digest = hashlib.sha256(full.read_bytes()).hexdigest()
                    expected[guest] = (
                        "file",
                        stat.S_IMODE(st.st_mode),
                        st.st_uid,
                        st.st_size,
                        digest,
                    )
                elif stat.S_ISDIR(st.st_mode):
                    expected[guest] = ("dir", stat.S_IMODE(st.st_mode), st.st_uid, 0, None)
    return expected


@pytest.fixture(scope="module")
def expected(debian_disk: Path) -> dict[str, tuple[str, int, int, int, str | None]]:
    return _source_files(debian_disk.parent)


@pytest.mark.parametrize("variant", ["raw", "qcow2", "vmdk-streamOptimized", "vhdx"])
def test_walk_reads_every_file_byte_for_byte(debian_variants, expected, variant: str) -> None:
    fs = _guestfs(debian_variants.get(variant))
    seen: dict[str, tuple[str, int, int, int, str | None]] = {}
    for entry in fs.walk("/"):
        mode = entry.stat.mode
        if entry.path.startswith("/boot/efi"):
            # FAT has no owners, modes or links: compare content only.
            if stat.S_ISREG(mode):
                data = fs.read_node(entry.mount, entry.node, 0, entry.stat.size)
                want = expected[entry.path]
                seen[entry.path] = want
                assert hashlib.sha256(data).hexdigest() == want[4], entry.path
            elif stat.S_ISDIR(mode):
                seen[entry.path] = expected[entry.path]
            continue
        if stat.S_ISLNK(mode):
            seen[entry.path] = ("link", 0, entry.stat.uid, 0, fs.readlink(entry.path))
        elif stat.S_ISREG(mode):
            data = fs.read_node(entry.mount, entry.node, 0, entry.stat.size)
            assert len(data) == entry.stat.size
            seen[entry.path] = (
                "file",
                stat.S_IMODE(mode),
                entry.stat.uid,
                entry.stat.size,
                hashlib.sha256(data).hexdigest(),
            )
        elif stat.S_ISDIR(mode):
            seen[entry.path] = ("dir", stat.S_IMODE(mode), entry.stat.uid, 0, None)
    # lost+found is created by mkfs, not in the trees; mount points exist on both sides.
    seen = {k: v for k, v in seen.items() if not k.endswith("/lost+found")}
    missing = sorted(set(expected) - set(seen))
    extra = sorted(set(seen) - set(expected))
    assert not missing, missing[:10]
    assert not extra, extra[:10]
    wrong = [p for p in expected if expected[p] != seen[p] and not p.startswith("/boot/efi")]
    # Mount point directories take the mounted root's mode/owner.
    wrong = [p for p in wrong if p not in ("/home", "/boot/efi")]
    assert not wrong, [(p, expected[p], seen[p]) for p in wrong[:5]]
    assert sum(1 for v in seen.values() if v[0] == "file") > 3000


def test_symlinks_resolve_inside_the_guest(debian_disk: Path) -> None:
    fs = _guestfs(debian_disk)
    # Debian's /etc/os-release is a relative link to ../usr/lib/os-release.
    assert fs.readlink("/etc/os-release") == "../usr/lib/os-release"
    data = fs.read_file("/etc/os-release", 65536)
    assert data is not None and b"bookworm" in data
    # /bin is a link to usr/bin in merged-/usr Debian; ".." never climbs above the root.
    assert fs.stat("/../../../bin/sh") is not None
    assert fs.resolve("/home/../home/alice/../../etc/hostname") is not None
    assert fs.list_dir("/boot") is not None and "efi" in (fs.list_dir("/boot") or [])


def test_mount_layout_follows_fstab(debian_disk: Path) -> None:
    guest = open_guest(debian_disk, ImageOptions())
    points = {p.mountpoint: p.signature.kind for p in guest.layout.volumes}
    assert points == {"/boot/efi": "vfat", "/": "ext4", "/home": "xfs"}
    assert guest.layout.problems == ()


def test_symlink_loop_is_bounded(tmp_path: Path) -> None:
    import subprocess

    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc/fstab").write_text("")
    os.symlink("loopb", tree / "loopa")
    os.symlink("loopa", tree / "loopb")
    os.symlink("..", tree / "up")
    img = tmp_path / "fs.img"
    subprocess.run(["mkfs.ext4", "-q", "-d", str(tree), str(img), "8M"], check=True)
    fs = _guestfs(img)
    with pytest.raises(GuestPathError, match="too many levels"):
        fs.stat("/loopa")
    assert fs.stat("/loopa", follow=False) is not None
    assert fs.resolve("/up/up/up/etc/fstab") is not None
    assert [e.path for e in fs.walk("/") if e.path.startswith("/up")] == ["/up"]


def test_directory_hard_link_cycle_is_cut(tmp_path: Path) -> None:
    """malicious-images E.32: a directory entry pointing back at the root inode."""
    import subprocess

    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc/fstab").write_text("")
    img = tmp_path / "fs.img"
    subprocess.run(["mkfs.ext4", "-q", "-d", str(tree), str(img), "8M"], check=True)
    subprocess.run(["debugfs", "-w", "-R", "ln <2> /etc/rootcycle", str(img)], check=True,
                   capture_output=True)  # fmt: skip
    fs = _guestfs(img)
    paths = [e.path for e in fs.walk("/")]
    assert "/etc/rootcycle" in paths
    assert len(paths) == len(set(paths)) < 20
    assert fs.read_file("/etc/rootcycle/etc/rootcycle/etc/fstab", 1024) == b""
