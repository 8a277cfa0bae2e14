"""Guests whose root is on btrfs subvolumes, as Fedora and openSUSE ship them.

The layout comes from the guest's own fstab (``subvol=``) and the default subvolume; OS
facts, every planted secret and files in snapshots and reflinked copies are checked. The
images are written by the kernel through loop mounts of the tests' own files (skipped where
the machine cannot loop-mount).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btrfsimages import (
    build_fedora_disk,
    build_opensuse_disk,
    build_ubuntu_disk,
    expected_entries,
    guest_entries,
    loop_mount_problem,
    mkfs_btrfs,
)
from clirunner import vmguard
from vmguard.disk.guestfs import GuestFS, Mount
from vmguard.inspection import ImageOptions, inventory_of, open_guest


@pytest.fixture(scope="module")
def fedora(tmp_path_factory: pytest.TempPathFactory) -> Path:
    problem = loop_mount_problem()
    if problem is not None:
        pytest.skip(f"btrfs subvolume guests are written through a loop mount: {problem}")
    return build_fedora_disk(tmp_path_factory.mktemp("fedora"))


@pytest.fixture(scope="module")
def opensuse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    problem = loop_mount_problem()
    if problem is not None:
        pytest.skip(f"btrfs subvolume guests are written through a loop mount: {problem}")
    return build_opensuse_disk(tmp_path_factory.mktemp("opensuse"))


def _guestfs(image: Path) -> GuestFS:
    guest = open_guest(image, ImageOptions())
    assert guest.layout.problems == ()
    assert guest.layout.guestfs is not None
    return guest.layout.guestfs


def test_fedora_os_facts_and_layout(fedora: Path) -> None:
    inventory = inventory_of(open_guest(fedora, ImageOptions()))
    assert inventory.os is not None
    assert (inventory.os.distro, inventory.os.version) == ("fedora", "40")
    assert (inventory.os.hostname, inventory.os.arch) == ("fedora-btrfs", "x86_64")
    placed = {p.filesystem: p.mountpoint for p in inventory.partitions}
    assert placed == {"ext4": "/boot", "btrfs": "/"}


def test_fedora_subvolumes_hold_the_source_trees(fedora: Path) -> None:
    guestfs = _guestfs(fedora)
    assert guest_entries(guestfs, "/home") == expected_entries(fedora.parent / "home")
    root = expected_entries(fedora.parent / "root")
    # Made or changed in the image after the copy (and /etc, whose mtime that moved).
    changed = {"/etc", "/etc/notes.txt", "/etc/notes.reflink", "/etc/preallocated"}
    actual = guest_entries(guestfs, skip=("home", "boot"))
    assert {p: v for p, v in actual.items() if p not in changed} == {
        p: v for p, v in root.items() if p not in changed
    }
    assert guestfs.read_file("/boot/loader/entries/fedora.conf", 100) == b"title Fedora Linux 40\n"


def test_fedora_reflinks_and_preallocation(fedora: Path) -> None:
    guestfs = _guestfs(fedora)
    original = (fedora.parent / "root/etc/notes.txt").read_bytes()
    assert guestfs.read_file("/etc/notes.reflink", 1 << 20) == original
    changed = guestfs.read_file("/etc/notes.txt", 1 << 20)
    assert changed == b"CHANGED AFTER THE REFLINK" + original[25:]
    assert guestfs.read_file("/etc/preallocated", 2 << 20) == bytes(1 << 20)


def test_fedora_snapshot_is_readable_as_a_subvolume(fedora: Path) -> None:
    guestfs = _guestfs(fedora)
    found = guestfs.resolve("/")
    assert found is not None
    snapshot = found[1].fs.subvolume(path="home-snapshot")  # type: ignore[attr-defined]
    view = GuestFS([Mount("/", snapshot, "snapshot")])
    assert guest_entries(view) == expected_entries(fedora.parent / "home")


def test_scan_finds_the_key_in_the_home_subvolume(fedora: Path) -> None:
    run = vmguard("scan", "--format", "json", fedora)
    assert run.code == 1, run.stderr
    report = json.loads(run.stdout)
    keys = [f for f in report["findings"] if f["rule_id"] == "secret.private-key"]
    assert [f["location"]["path"] for f in keys] == ["/home/alice/.ssh/id_ed25519"]
    body = (fedora.parent / "home/alice/.ssh/id_ed25519").read_text().splitlines()[1]
    assert body not in run.stdout
    assert report["errors"] == []


def test_opensuse_default_subvolume_and_subvol_mounts(opensuse: Path) -> None:
    inventory = inventory_of(open_guest(opensuse, ImageOptions()))
    assert inventory.os is not None
    assert (inventory.os.distro, inventory.os.version) == ("opensuse-leap", "15.6")
    guestfs = _guestfs(opensuse)
    assert guestfs.read_file("/.snapshots/1/info.xml", 100) == (
        b"<snapshot><num>1</num></snapshot>\n"
    )
    assert guest_entries(guestfs, "/home") == expected_entries(opensuse.parent / "home")
    run = vmguard("scan", "--format", "json", opensuse)
    paths = [f["location"]["path"] for f in json.loads(run.stdout)["findings"]]
    assert "/home/alice/.ssh/id_ed25519" in paths


def test_fstab_subvol_for_root_wins_over_a_leftover_copy(tmp_path: Path) -> None:
    problem = loop_mount_problem()
    if problem is not None:
        pytest.skip(f"btrfs subvolume guests are written through a loop mount: {problem}")
    image = build_ubuntu_disk(tmp_path)
    inventory = inventory_of(open_guest(image, ImageOptions()))
    assert inventory.os is not None
    assert (inventory.os.version, inventory.os.hostname) == ("24.04", "noble")
    assert guest_entries(_guestfs(image), "/home") == expected_entries(tmp_path / "home")


def test_fstab_subvolumes_without_loop_mounts(tmp_path: Path) -> None:
    """subvolid=5 (the top level) mounts a second view; a missing subvol= is reported."""
    uuid = "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901"
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc/os-release").write_text("ID=fedora\nVERSION_ID=40\n")
    (tree / "etc/fstab").write_text(
        f"UUID={uuid} / btrfs defaults 0 0\n"
        f"UUID={uuid} /toplevel btrfs subvolid=5 0 0\n"
        f"UUID={uuid} /data btrfs subvol=missing 0 0\n"
    )
    (tree / "toplevel").mkdir()
    image = mkfs_btrfs(tree, tmp_path / "fs.raw", "-U", uuid)
    layout = open_guest(image, ImageOptions()).layout
    assert layout.guestfs is not None
    assert (
        layout.guestfs.read_file("/toplevel/etc/os-release", 100) == b"ID=fedora\nVERSION_ID=40\n"
    )
    messages = [p.reason for p in layout.problems]
    assert any("subvolume 'missing' does not exist" in m for m in messages), messages
