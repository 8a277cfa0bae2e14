"""Walk + read every regular file: vmguard's GuestFS against dissect.target, same qcow2.

vmguard runs in this process (``open_guest`` then ``GuestFS.walk`` and ``read_node``);
dissect.target runs in its own virtualenv (benchmarks/.peer-venv, see peers.py) through a
small script that opens ``Target.open(image)``, walks ``target.fs`` with ``walk_ext`` and
reads every regular file in full. Symlinks are not followed by either.

Timed: the walk and the reads, not opening the image (reported apart). Each tool returns
every path with the bytes it read, so the comparison shows whether both did the same work.
Run alone: ``.venv/bin/python benchmarks/bench_walk.py`` (``... bench_walk.py btrfs``: the
same tree on btrfs, read by vmguard's own btrfs reader and by dissect.btrfs).
"""

from __future__ import annotations

import json
import stat
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import image as bench_image
import peers

from vmguard import native
from vmguard.allocator import keep_freed_memory
from vmguard.disk.guestfs import GuestFS
from vmguard.errors import VmguardError
from vmguard.inspection import ImageOptions, open_guest

TARGET_RATIO = 50.0
VMGUARD_RUNS = 3
DISSECT_RUNS = 1  # about a minute per run on this machine
AGREEMENT = 0.01
"""File counts and byte totals of the two walks may differ by at most this fraction."""

DISSECT_WALK = r"""
import json, sys, time
started = time.perf_counter()
from dissect.target import Target
target = Target.open(sys.argv[1])
opened = time.perf_counter()
files, errors = {}, []
def on_error(err):
    errors.append(f"{getattr(err, 'entry', '?')}: {err}")
for _path, _dirs, entries in target.fs.walk_ext("/", onerror=on_error):
    for entry in entries:
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            size = 0
            with entry.open() as fh:
                while chunk := fh.read(1 << 20):
                    size += len(chunk)
            files[entry.path] = size
        except Exception as err:
            errors.append(f"{entry.path}: {err!r}")
done = time.perf_counter()
json.dump({"open": opened - started, "walk": done - opened, "files": files,
           "errors": errors}, open(sys.argv[2], "w"))
"""
"""Runs in the peer venv: argv[1] the image, argv[2] where to write the JSON result."""

DISSECT_WALK_BTRFS = r"""
import json, sys, time
started = time.perf_counter()
from dissect.target import Target
target = Target.open(sys.argv[1])
# dissect.target 3.25.1 resolves nested paths on btrfs through its root layer wrongly
# ("/etc/passwd" not found below "/"), and its walk_ext drops the rest of a directory when
# an absolute symlink in it fails to resolve; walk the mounted btrfs itself, one entry at
# a time, so that the peer does the same work as vmguard.
fs = target.fs.mounts["/"]
opened = time.perf_counter()
files, errors = {}, []
stack = [fs.get("/")]
while stack:
    directory = stack.pop()
    try:
        children = list(directory.scandir())
    except Exception as err:
        errors.append(f"{directory.path}: {err!r}")
        continue
    for child in children:
        try:
            if child.is_symlink():
                continue
            if child.is_dir(follow_symlinks=False):
                stack.append(child.get())
                continue
            if not child.is_file(follow_symlinks=False):
                continue
            size = 0
            with child.get().open() as fh:
                while chunk := fh.read(1 << 20):
                    size += len(chunk)
            files[child.path] = size
        except Exception as err:
            errors.append(f"{child.name}: {err!r}")
done = time.perf_counter()
json.dump({"open": opened - started, "walk": done - opened, "files": files,
           "errors": errors}, open(sys.argv[2], "w"))
"""
"""The btrfs variant of ``DISSECT_WALK`` (same arguments, same result)."""


class WalkFailed(RuntimeError):
    """A walk could not be run to its end."""


@dataclass(frozen=True, slots=True)
class WalkRun:
    """One tool's walk over the image."""

    tool: str
    open_seconds: float
    """Opening the image down to its filesystems; not part of the ratio."""
    walk_seconds: float
    """Median wall time of walking and reading every regular file."""
    runs: int
    setup: str
    """How the tool's process was set up (vmguard: compiled modules, malloc settings)."""
    files: dict[str, int]
    """Every regular file met, with the bytes read from it."""
    errors: tuple[str, ...]

    @property
    def total_bytes(self) -> int:
        """Bytes read over all files."""
        return sum(self.files.values())

    @property
    def mb_per_second(self) -> float:
        """Throughput of the walk, in MB (10^6 bytes) per second."""
        return self.total_bytes / 1e6 / self.walk_seconds

    def line(self) -> str:
        """One line for the report."""
        return (
            f"walk: {self.tool} {len(self.files):,} files {self.total_bytes / 1e6:,.1f} MB"
            f" in {self.walk_seconds:.2f} s = {self.mb_per_second:,.1f} MB/s"
            f" (median of {self.runs}; open {self.open_seconds:.2f} s;"
            f" {len(self.errors)} errors{'; ' + self.setup if self.setup else ''})"
        )


@dataclass(frozen=True, slots=True)
class WalkComparison:
    """vmguard's walk against dissect.target's on the same image."""

    vmguard: WalkRun
    dissect: WalkRun
    name: str = "walk+read vs dissect.target"
    target: float = TARGET_RATIO

    @property
    def ratio(self) -> float:
        """How many times faster vmguard walked and read than dissect.target."""
        return self.dissect.walk_seconds / self.vmguard.walk_seconds

    @property
    def problems(self) -> tuple[str, ...]:
        """Reasons the two walks are not the same work; empty when they agree."""
        found = []
        ours, theirs = self.vmguard, self.dissect
        if abs(len(ours.files) - len(theirs.files)) > AGREEMENT * len(theirs.files):
            found.append(f"file counts differ: {len(ours.files)} vs {len(theirs.files)}")
        if abs(ours.total_bytes - theirs.total_bytes) > AGREEMENT * theirs.total_bytes:
            found.append(f"bytes differ: {ours.total_bytes} vs {theirs.total_bytes}")
        found.extend(f"vmguard: {e}" for e in ours.errors[:3])
        return tuple(found)

    def headline(self) -> str:
        """Throughputs and file counts, for the summary table."""
        ours, theirs = self.vmguard, self.dissect
        return (
            f"{ours.mb_per_second:,.0f} vs {theirs.mb_per_second:,.1f} MB/s,"
            f" {len(ours.files):,} vs {len(theirs.files):,} files"
        )

    def lines(self) -> list[str]:
        """The report: each tool, how their file sets compare, the ratio."""
        ours, theirs = self.vmguard.files, self.dissect.files
        both = ours.keys() & theirs.keys()
        same_size = sum(1 for p in both if ours[p] == theirs[p])
        only_ours, only_theirs = sorted(ours.keys() - both), sorted(theirs.keys() - both)
        verdict = "OK" if self.ratio >= self.target and not self.problems else "MISSED"
        return [
            self.vmguard.line(),
            self.dissect.line(),
            f"walk: same path in both {len(both):,} ({same_size:,} with equal bytes);"
            f" only vmguard {len(only_ours)} {_examples(only_ours)};"
            f" only dissect.target {len(only_theirs)} {_examples(only_theirs)}",
            *(f"walk: dissect.target error: {e}" for e in self.dissect.errors[:3]),
            *(f"walk: problem: {p}" for p in self.problems),
            f"walk: vmguard {self.vmguard.walk_seconds:.2f} s,"
            f" dissect.target {self.dissect.walk_seconds:.1f} s,"
            f" ratio {self.ratio:.0f}x (target >= {self.target:.0f}x) {verdict}",
        ]


def _examples(paths: list[str], count: int = 5) -> str:
    """A few paths, to show what a difference in the file sets is made of."""
    return f"({', '.join(paths[:count])}{', ...' if len(paths) > count else ''})" if paths else ""


def _walk_once(guestfs: GuestFS) -> tuple[float, dict[str, int], tuple[str, ...]]:
    """One timed walk + read: seconds, bytes read per regular file, errors met."""
    files: dict[str, int] = {}
    errors: list[str] = []
    started = time.perf_counter()
    for entry in guestfs.walk("/", on_error=lambda path, msg: errors.append(f"{path}: {msg}")):
        if stat.S_ISREG(entry.stat.mode):
            try:
                data = guestfs.read_node(entry.mount, entry.node, 0, entry.stat.size)
            except VmguardError as err:
                errors.append(f"{entry.path}: {err}")
                continue
            files[entry.path] = len(data)
    return time.perf_counter() - started, files, tuple(errors)


def walk_vmguard(image: Path, *, runs: int = VMGUARD_RUNS) -> WalkRun:
    """Walk + read every regular file with vmguard, ``runs`` times.

    Each run opens the image afresh, so no run profits from what an earlier one parsed;
    the dissect.target run gets a fresh process just the same. This process is first set
    up as the ``vmguard`` command sets up its own (``keep_freed_memory``).
    """
    malloc = "malloc as the CLI's" if keep_freed_memory() else "malloc settings REFUSED"
    opens: list[float] = []
    walks: list[tuple[float, dict[str, int], tuple[str, ...]]] = []
    for _ in range(runs):
        started = time.perf_counter()
        try:
            guest = open_guest(image, ImageOptions())
        except VmguardError as err:
            raise WalkFailed(f"vmguard could not open {image}: {err}") from err
        opens.append(time.perf_counter() - started)
        if guest.layout.guestfs is None:
            raise WalkFailed(f"vmguard found no root filesystem in {image}")
        walks.append(_walk_once(guest.layout.guestfs))
    _, files, errors = walks[-1]
    seconds = statistics.median(w[0] for w in walks)
    setup = f"mypyc build {'used' if native.active() else 'NOT used'}, {malloc}"
    return WalkRun("vmguard", statistics.median(opens), seconds, runs, setup, files, errors)


def walk_dissect(
    image: Path, python: Path, *, runs: int = DISSECT_RUNS, script: str = DISSECT_WALK
) -> WalkRun:
    """Walk + read every regular file with dissect.target, run by the peer venv's ``python``."""
    timings: list[float] = []
    opens: list[float] = []
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="vmguard-bench-") as tmp:
        out = Path(tmp) / "dissect.json"
        for _ in range(runs):
            proc = subprocess.run(
                [str(python), "-c", script, str(image), str(out)],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                raise WalkFailed(f"dissect.target walk failed:\n{proc.stderr[-2000:]}")
            result = json.loads(out.read_text())
            opens.append(float(result["open"]))  # type: ignore[arg-type]
            timings.append(float(result["walk"]))  # type: ignore[arg-type]
    files: dict[str, int] = result["files"]  # type: ignore[assignment]
    errors: list[str] = result["errors"]  # type: ignore[assignment]
    return WalkRun(
        "dissect.target",
        statistics.median(opens),
        statistics.median(timings),
        runs,
        "",
        files,
        tuple(errors),
    )


def measure(image: Path) -> WalkComparison:
    """Both walks over ``image``; vmguard first, so both read from a warm page cache."""
    return WalkComparison(walk_vmguard(image), walk_dissect(image, peers.peer_python()))


def measure_btrfs(_ext4_image: Path | None = None) -> WalkComparison:
    """Both walks over the same tree on btrfs (vmguard's own reader, dissect.btrfs)."""
    image = bench_image.bench_btrfs_image()
    return WalkComparison(
        walk_vmguard(image),
        walk_dissect(image, peers.peer_python(), script=DISSECT_WALK_BTRFS),
        name="walk+read btrfs vs dissect.target",
    )


def main() -> int:
    """Set up the peer and the image, measure, print; 1 when the target is missed."""
    try:
        peers.ensure_dissect()
        if sys.argv[1:] == ["btrfs"]:
            comparison = measure_btrfs()
        else:
            comparison = measure(bench_image.bench_image())
    except (peers.PeerSetupFailed, WalkFailed) as err:
        print(f"walk: FAILED: {err}", file=sys.stderr)
        return 1
    print("\n".join(comparison.lines()))
    return 0 if comparison.ratio >= comparison.target and not comparison.problems else 1


if __name__ == "__main__":
    sys.exit(main())
