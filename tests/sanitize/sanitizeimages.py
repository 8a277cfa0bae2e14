"""Helpers for the sanitize tests: partitions cut out with sfdisk + dd, the filesystems' own
checkers, and the hashes that prove an input untouched."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from vmguard.findings import Report, Severity, Threat


def sha256(path: Path) -> str:
    """SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run a tool; the caller looks at its exit code."""
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False)


def partitions(image: Path, workdir: Path) -> list[Path]:
    """Each partition of ``image`` as its own file (qemu-img convert to raw, then dd)."""
    raw = workdir / f"{image.name}.check.raw"
    assert run("qemu-img", "convert", "-O", "raw", image, raw).returncode == 0
    table = json.loads(run("sfdisk", "--json", raw).stdout)["partitiontable"]
    parts = []
    for i, part in enumerate(table["partitions"], start=1):
        out = workdir / f"{image.name}.p{i}"
        done = run(
            "dd", f"if={raw}", f"of={out}", "bs=512", f"skip={part['start']}",
            f"count={part['size']}", "conv=sparse", "status=none",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        parts.append(out)
    raw.unlink()
    return parts


def fs_check(part: Path) -> subprocess.CompletedProcess[str]:
    """The filesystem's own read-only checker on one partition file."""
    kind = run("blkid", "-o", "value", "-s", "TYPE", part).stdout.strip()
    if kind.startswith("ext"):
        return run("e2fsck", "-fn", part)
    if kind == "xfs":
        return run("xfs_repair", "-n", part)
    if kind == "vfat":
        return run("fsck.vfat", "-n", part)
    raise AssertionError(f"unexpected filesystem {kind!r} on {part.name}")


def exposures(report: Report) -> list[str]:
    """Image-exposure and guest-to-guest findings at medium or above, and every deleted one."""
    return [
        f"{f.rule_id} {f.location.path}"
        for f in report.findings
        if not f.rule_id.startswith("sanitize.")
        and (
            f.location.area.value == "unallocated"
            or (
                f.threat in (Threat.IMAGE_EXPOSURE, Threat.GUEST_TO_GUEST)
                and f.severity.rank >= Severity.MEDIUM.rank
            )
        )
    ]
