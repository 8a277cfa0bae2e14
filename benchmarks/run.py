"""Run every benchmark, print a summary of ratios against targets; exit 1 if one is missed.

``make bench`` runs this with the project's interpreter. It installs the peers (peers.py),
builds or reuses the benchmark image (image.py), then runs each benchmark module in turn.
A benchmark counts as missed when its ratio is under its target, when the two tools did
not do the same work (its ``problems``), or when it could not run at all.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import bench_inspect
import bench_sanitize
import bench_scan
import bench_verify
import bench_walk
import image as bench_image
import peers

from vmguard.demo.imagebuild import ImageBuildError


class Comparison(Protocol):
    """What every benchmark module's ``measure`` returns."""

    @property
    def name(self) -> str:
        """What is compared, for the summary table."""
        ...

    @property
    def ratio(self) -> float:
        """How many times faster vmguard was than the peer."""
        ...

    @property
    def target(self) -> float:
        """The ratio vmguard must reach."""
        ...

    @property
    def problems(self) -> tuple[str, ...]:
        """Reasons the measurement is not a fair comparison; empty when it is."""
        ...

    def headline(self) -> str:
        """vmguard's figures against the peer's, in a few words."""
        ...

    def lines(self) -> list[str]:
        """The benchmark's detailed report."""
        ...


@dataclass(frozen=True, slots=True)
class Benchmark:
    """One benchmark module, as this runner drives it."""

    name: str
    target: float
    measure: Callable[[Path], Comparison]
    failures: tuple[type[Exception], ...]
    """The errors meaning "could not be measured", recorded in the summary as a miss."""


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark(
        "inspect vs virt-inspector",
        bench_inspect.TARGET_RATIO,
        bench_inspect.measure,
        (bench_inspect.InspectFailed,),
    ),
    Benchmark(
        "walk+read vs dissect.target",
        bench_walk.TARGET_RATIO,
        bench_walk.measure,
        (bench_walk.WalkFailed,),
    ),
    Benchmark(
        "walk+read btrfs vs dissect.target",
        bench_walk.TARGET_RATIO,
        bench_walk.measure_btrfs,
        (bench_walk.WalkFailed, ImageBuildError),
    ),
    Benchmark(
        "scan vs detect-secrets (and tar)",
        bench_scan.TARGET_VS_DETECT_SECRETS,
        bench_scan.measure,
        (bench_scan.ScanFailed,),
    ),
    Benchmark(
        "verify vs sha256sum (and b3sum)",
        bench_verify.TARGET_RATIO,
        bench_verify.measure,
        (bench_verify.VerifyBenchFailed,),
    ),
    Benchmark(
        "sanitize vs virt-sysprep+virt-sparsify",
        bench_sanitize.TARGET_RATIO,
        bench_sanitize.measure,
        (bench_sanitize.SanitizeBenchFailed,),
    ),
)

STANDALONE = ("bench_audit.py", "bench_vulns.py", "bench_fleet.py", "bench_inspect_windows.py")
"""Benchmarks with their own inputs and report; run as scripts, judged by exit status."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One row of the summary."""

    name: str
    target: float
    ratio: float | None
    """None when the benchmark could not be measured."""
    headline: str
    reason: str
    """Why it was missed; empty when it passed."""

    @property
    def passed(self) -> bool:
        """Whether the target was reached by a fair comparison."""
        return not self.reason


def run_benchmark(benchmark: Benchmark, image: Path) -> Outcome:
    """Measure one benchmark, print its report, and judge it."""
    print(f"== {benchmark.name}", flush=True)
    started = time.perf_counter()
    try:
        comparison = benchmark.measure(image)
    except benchmark.failures as err:
        print(f"FAILED: {err}", flush=True)
        reason = f"failed: {err}".splitlines()[0]
        return Outcome(benchmark.name, benchmark.target, None, "", reason)
    print("\n".join(comparison.lines()))
    print(f"(took {time.perf_counter() - started:.0f} s)\n", flush=True)
    reason = "; ".join(comparison.problems)
    if comparison.ratio < comparison.target:
        reason = f"ratio under target{'; ' + reason if reason else ''}"
    return Outcome(
        comparison.name, comparison.target, comparison.ratio, comparison.headline(), reason
    )


def summary(outcomes: list[Outcome]) -> list[str]:
    """The table of ratios against targets."""
    name_width = max(len(o.name) for o in outcomes)
    detail_width = max(len(o.headline) for o in outcomes)
    rows = [
        f"{'benchmark':<{name_width}}  {'vmguard vs peer':<{detail_width}}"
        f"  {'ratio':>6}  {'target':>7}  result"
    ]
    for o in outcomes:
        ratio = f"{o.ratio:.0f}x" if o.ratio is not None else "-"
        result = "OK" if o.passed else f"MISSED ({o.reason})"
        rows.append(
            f"{o.name:<{name_width}}  {o.headline:<{detail_width}}"
            f"  {ratio:>6}  {f'>= {o.target:.0f}x':>7}  {result}"
        )
    return rows


def main() -> int:
    """Set up peers and image, run every benchmark, print the summary; 1 if any missed."""
    try:
        peers.ensure_virt_inspector()
        peers.ensure_dissect()
    except peers.PeerSetupFailed as err:
        print(f"bench: peers could not be set up: {err}", file=sys.stderr)
        return 1
    try:
        image = bench_image.bench_image()
    except ImageBuildError as err:
        print(f"bench: the benchmark image could not be built: {err}", file=sys.stderr)
        return 1
    print(f"bench: image {image} ({image.stat().st_size / 1e6:,.0f} MB qcow2)\n", flush=True)
    outcomes = [run_benchmark(b, image) for b in BENCHMARKS]
    print("\n".join(summary(outcomes)))
    failed = []
    for script in STANDALONE:
        print(f"\nbench: {script}", flush=True)
        done = subprocess.run([sys.executable, str(Path(__file__).parent / script)], check=False)
        if done.returncode not in (0, None):
            failed.append(script)
    if failed:
        print(f"bench: missed in {', '.join(failed)}")
    return 0 if all(o.passed for o in outcomes) and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
