"""HostRoot: chroot-style resolution, bounded reads, no FIFO or device opened."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vmguard.guest.view import GuestFileTooLarge
from vmguard.host.errors import RootUnusable
from vmguard.host.root import HostRoot


def test_absolute_link_to_shadow_resolves_inside_the_root(tmp_path: Path) -> None:
    (tmp_path / "etc/libvirt").mkdir(parents=True)
    (tmp_path / "etc/shadow").write_text("in-root shadow\n")
    (tmp_path / "etc/libvirt/qemu.conf").symlink_to("/etc/shadow")
    (tmp_path / "etc/libvirt/up.conf").symlink_to("../../../../../../etc/shadow")
    root = HostRoot(tmp_path)
    assert root.read_text("/etc/libvirt/qemu.conf") == "in-root shadow\n"
    assert root.read_text("/etc/libvirt/up.conf") == "in-root shadow\n"
    assert root.read_text("/../../etc/shadow") == "in-root shadow\n"
    assert root.real_path("/etc/libvirt/qemu.conf") == "/etc/shadow"


def test_link_loop_and_missing_paths_are_none(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    root = HostRoot(tmp_path)
    assert root.read_file("/a", 100) is None
    assert root.stat("/a") is None
    assert root.stat("/a", follow=False) is not None
    assert root.list_dir("/missing/dir") is None


def test_reads_are_bounded_and_fifos_never_opened(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 1000)
    os.mkfifo(tmp_path / "fifo")
    root = HostRoot(tmp_path)
    with pytest.raises(GuestFileTooLarge):
        root.read_file("/big", 999)
    assert root.read_file("/big", 1000) == b"x" * 1000
    assert root.read_file("/fifo", 100) is None  # would block forever if opened for reading
    assert root.list_dir("/") == ["big", "fifo"]


def test_root_must_be_a_directory(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(RootUnusable):
        HostRoot(tmp_path / "file")
    with pytest.raises(RootUnusable):
        HostRoot(tmp_path / "missing")


def test_live_root_reads_proc() -> None:
    root = HostRoot(Path("/"))
    assert root.live
    status = root.read_text("/proc/self/status")
    assert status is not None and status.startswith("Name:")
