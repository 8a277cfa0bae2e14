"""verify_outcomes: a change a tool claims (or exits 0 after) but did not make is caught by
reading the image back; a real change passes."""

from __future__ import annotations

from pathlib import Path

from vmguard.demo.imagebuild import LINUX_TYPE, MiB, PartitionSpec, assemble_gpt, make_ext4
from vmguard.inspection import ImageOptions, open_guest
from vmguard.sanitize.fswriters import Outcome, Region, apply_ext, expected
from vmguard.sanitize.plan import Plan
from vmguard.sanitize.readback import verify_outcomes


def _disk(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc/fstab").write_text("LABEL=root / ext4 defaults 0 1\n")
    (tree / "etc/a.conf").write_text("token=1\nkeep=2\n")
    (tree / "etc/b.log").write_text("log\n")
    root = tmp_path / "root.img"
    make_ext4(root, tree, 16 * MiB, label="root", fs_uuid="0a0b0c0d-1111-4222-8333-444455556667")
    disk = tmp_path / "disk.raw"
    assemble_gpt(
        disk,
        [PartitionSpec(root, LINUX_TYPE, "0a0b0c0d-aaaa-4bbb-8ccc-ddddeeeeff00", "root")],
        disk_guid="0a0b0c0d-9999-4888-8777-666655554400",
    )
    return disk


def test_claims_without_changes_are_caught(tmp_path: Path) -> None:
    disk = _disk(tmp_path)
    plan = Plan(open_guest(disk, ImageOptions(forced_format="raw")).layout.guestfs)
    plan.remove("t", "/etc/b.log")
    plan.rewrite("t", "/etc/a.conf", lambda data: (data.replace(b"token=1\n", b""), "line 1"))
    claimed = [Outcome(e, None, expect=expected(e)) for e in plan.ordered()]  # nothing ran
    checked = {o.edit.path: o.error for o in verify_outcomes(disk, claimed)}
    assert checked["/etc/b.log"] == "not applied: still there"
    assert checked["/etc/a.conf"] is not None and checked["/etc/a.conf"].startswith(
        "not applied: holds 15 bytes, not 7"
    )


def test_real_changes_pass(tmp_path: Path) -> None:
    disk = _disk(tmp_path)
    guest = open_guest(disk, ImageOptions(forced_format="raw"))
    plan = Plan(guest.layout.guestfs)
    plan.remove("t", "/etc/b.log")
    plan.rewrite("t", "/etc/a.conf", lambda data: (data.replace(b"token=1\n", b""), "line 1"))
    volume = next(p for p in guest.layout.volumes if p.filesystem is not None).volume
    region = Region(disk, volume.start, volume.size, "ext4")
    done = apply_ext(region, plan.ordered(), tmp_path)
    assert [o.error for o in verify_outcomes(disk, done)] == [None, None]
    fs = open_guest(disk, ImageOptions(forced_format="raw")).layout.guestfs
    assert fs is not None and fs.read_file("/etc/a.conf", 100) == b"keep=2\n"
