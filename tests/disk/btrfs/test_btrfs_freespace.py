"""``scan --deleted`` on btrfs: device space outside chunks and space no extent covers.

Deleted keys must be found (an inline one in a stale metadata block, a regular one in a
freed data extent, one left on the device before mkfs); a live file's key must not be
reported as unallocated, which proves the extent tree is honoured.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btrfsimages import loop_mount_problem, loop_mounted, mkfs_btrfs, run
from clirunner import vmguard
from vmguard.checks.content import ContentScanner, compile_rules
from vmguard.checks.deleted import scan_unallocated
from vmguard.checks.interface import FileContent
from vmguard.inspection import ImageOptions, open_guest

LEFTOVER = 200 * 1024 * 1024


def _findings(image: Path) -> list[dict[str, object]]:
    result = vmguard("scan", "--deleted", "--format", "json", image, timeout=120)
    assert result.code == 1, result.stderr
    report = json.loads(result.stdout)
    assert [e for e in report["errors"] if e["path"] != "layout"] == []
    return [f for f in report["findings"] if f["rule_id"] == "secret.private-key"]


def _unallocated_offsets(findings: list[dict[str, object]]) -> list[int]:
    return [
        f["location"]["offset"]  # type: ignore[index]
        for f in findings
        if f["location"]["area"] == "unallocated"  # type: ignore[index]
    ]


def test_key_left_on_the_device_outside_every_chunk(tmp_path: Path) -> None:
    image = tmp_path / "leftover.raw"
    key = tmp_path / "key"
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key)
    with open(image, "wb") as f:
        f.truncate(256 * 1024 * 1024)
        f.seek(LEFTOVER)
        f.write(key.read_bytes())
    run("mkfs.btrfs", "-q", "-K", image)
    assert LEFTOVER in _unallocated_offsets(_findings(image))


def _fingerprint(key: Path) -> str | None:
    scanner = ContentScanner(compile_rules())
    found = scanner.scan(FileContent(key.name, key.read_bytes(), 0))
    prints = {f.fingerprint for f in found if f.rule_id == "secret.private-key"}
    assert len(prints) == 1
    return prints.pop()


def test_deleted_files_found_and_live_files_not(tmp_path: Path) -> None:
    problem = loop_mount_problem()
    if problem is not None:
        pytest.skip(f"deleting files on btrfs needs a loop mount: {problem}")
    inline, regular, live = (tmp_path / n for n in ("inline_key", "deleted_rsa", "live_rsa"))
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", inline)
    run("ssh-keygen", "-q", "-t", "rsa", "-b", "3072", "-N", "", "-f", regular)
    run("ssh-keygen", "-q", "-t", "rsa", "-b", "3072", "-N", "", "-f", live)
    image = mkfs_btrfs(None, tmp_path / "fs.raw")
    with loop_mounted(image) as mnt:
        for key in (inline, regular, live):
            (mnt / key.name).write_bytes(key.read_bytes())
        run("sync")
        (mnt / inline.name).unlink()
        (mnt / regular.name).unlink()
    assert _unallocated_offsets(_findings(image))
    deleted, errors = scan_unallocated(open_guest(image, ImageOptions()), compile_rules())
    assert errors == []
    prints = {f.fingerprint for f in deleted if f.rule_id == "secret.private-key"}
    assert _fingerprint(live) not in prints
    assert _fingerprint(inline) in prints and _fingerprint(regular) in prints
