"""``vmguard inspect`` against ``virt-inspector`` (libguestfs), run side by side on one qcow2.

Both are run as a user would run them, as separate processes, and timed by wall clock:
``vmguard inspect IMAGE --format json`` and ``virt-inspector --format=qcow2 -a IMAGE``
(direct backend; qemu TCG when KVM is unusable, see peers.py). The libguestfs appliance is
built by peers.py before any timed run, so no run pays for it.

What each found is compared, so a fast but wrong answer does not pass: the same distro and
version, the same hostname, package counts within ``PACKAGE_AGREEMENT``.
Run alone: ``.venv/bin/python benchmarks/bench_inspect.py``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import image as bench_image
import peers

TARGET_RATIO = 10.0
VMGUARD_RUNS = 5
VIRT_INSPECTOR_RUNS = 2  # ~25 s each under TCG
PACKAGE_AGREEMENT = 0.02
"""Package counts may differ by at most this fraction."""

VMGUARD_EXIT_OK = (0, 1)
"""``vmguard inspect`` exits 1 when a finding reaches --fail-on; the report is complete."""


class InspectFailed(RuntimeError):
    """An inspector failed or printed something that could not be read."""


@dataclass(frozen=True, slots=True)
class InspectRun:
    """What one inspector reported, and how long it took."""

    tool: str
    seconds: float
    """Median wall time over ``runs``."""
    runs: int
    distro: str
    version: str
    hostname: str
    packages: int
    mountpoints: tuple[str, ...]

    def line(self) -> str:
        """One line for the report."""
        return (
            f"inspect: {self.tool} {self.seconds:.2f} s (median of {self.runs}):"
            f" {self.distro} {self.version}, hostname {self.hostname},"
            f" {self.packages} packages, mounts {' '.join(sorted(self.mountpoints))}"
        )


@dataclass(frozen=True, slots=True)
class InspectComparison:
    """vmguard inspect against virt-inspector on the same image."""

    vmguard: InspectRun
    virt_inspector: InspectRun
    name: str = "inspect vs virt-inspector"
    target: float = TARGET_RATIO

    @property
    def ratio(self) -> float:
        """How many times faster vmguard inspected than virt-inspector."""
        return self.virt_inspector.seconds / self.vmguard.seconds

    @property
    def problems(self) -> tuple[str, ...]:
        """Where the two reports disagree on what matters; empty when they agree."""
        ours, theirs = self.vmguard, self.virt_inspector
        found = []
        if (ours.distro, ours.version) != (theirs.distro, theirs.version):
            found.append(
                f"OS differs: {ours.distro} {ours.version} vs {theirs.distro} {theirs.version}"
            )
        if ours.hostname != theirs.hostname:
            found.append(f"hostname differs: {ours.hostname} vs {theirs.hostname}")
        if abs(ours.packages - theirs.packages) > PACKAGE_AGREEMENT * theirs.packages:
            found.append(f"package counts differ: {ours.packages} vs {theirs.packages}")
        return tuple(found)

    def headline(self) -> str:
        """Both wall times and package counts, for the summary table."""
        ours, theirs = self.vmguard, self.virt_inspector
        return (
            f"{ours.seconds:.2f} vs {theirs.seconds:.1f} s,"
            f" {ours.packages} vs {theirs.packages} packages"
        )

    def lines(self) -> list[str]:
        """The report: each tool's findings and time, then the ratio."""
        verdict = "OK" if self.ratio >= self.target and not self.problems else "MISSED"
        return [
            self.vmguard.line(),
            self.virt_inspector.line(),
            *(f"inspect: problem: {p}" for p in self.problems),
            f"inspect: vmguard {self.vmguard.seconds:.2f} s,"
            f" virt-inspector {self.virt_inspector.seconds:.1f} s,"
            f" ratio {self.ratio:.0f}x (target >= {self.target:.0f}x) {verdict}",
        ]


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str, str]:
    """Run ``cmd``; wall seconds, exit code, stdout, stderr."""
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    return time.perf_counter() - started, proc.returncode, proc.stdout, proc.stderr


def vmguard_command() -> Path:
    """The ``vmguard`` script installed beside the running interpreter (the project venv)."""
    script = Path(sys.executable).with_name("vmguard")
    if not script.exists():
        raise InspectFailed(f"no vmguard beside {sys.executable}: run with .venv/bin/python")
    return script


def inspect_vmguard(image: Path, *, runs: int = VMGUARD_RUNS) -> InspectRun:
    """Time ``vmguard inspect --format json`` ``runs`` times and read its last report."""
    timings: list[float] = []
    report = ""
    for _ in range(runs):
        seconds, code, report, err = _timed(
            [str(vmguard_command()), "inspect", str(image), "--format", "json"]
        )
        if code not in VMGUARD_EXIT_OK:
            raise InspectFailed(f"vmguard inspect exited {code}:\n{err[-2000:]}")
        timings.append(seconds)
    try:
        inventory = json.loads(report)["inventory"]
        os_facts = inventory["os"] or {}
        return InspectRun(
            tool="vmguard",
            seconds=statistics.median(timings),
            runs=runs,
            distro=str(os_facts.get("distro")),
            version=str(os_facts.get("version")),
            hostname=str(os_facts.get("hostname")),
            packages=len(inventory["packages"]),
            mountpoints=tuple(
                p["mountpoint"] for p in inventory["partitions"] if p.get("mountpoint")
            ),
        )
    except (ValueError, KeyError, TypeError) as err:
        raise InspectFailed(f"vmguard inspect printed an unreadable report: {err}") from err


def inspect_virt_inspector(image: Path, *, runs: int = VIRT_INSPECTOR_RUNS) -> InspectRun:
    """Time ``virt-inspector`` ``runs`` times and read the first OS of its last report."""
    env = peers.libguestfs_env()
    timings: list[float] = []
    report = ""
    for _ in range(runs):
        seconds, code, report, err = _timed(
            ["virt-inspector", "--format=qcow2", "-a", str(image)], env=env
        )
        if code != 0:
            raise InspectFailed(f"virt-inspector exited {code}:\n{err[-2000:]}")
        timings.append(seconds)
    # The XML is virt-inspector's own output, not the image's: the stdlib parser is enough.
    try:
        system = ET.fromstring(report).find("operatingsystem")
    except ET.ParseError as err:
        raise InspectFailed(f"virt-inspector printed unreadable XML: {err}") from err
    if system is None:
        raise InspectFailed("virt-inspector found no operating system")
    return InspectRun(
        tool="virt-inspector",
        seconds=statistics.median(timings),
        runs=runs,
        distro=system.findtext("distro", "?"),
        version=system.findtext("product_name", "?"),
        hostname=system.findtext("hostname", "?"),
        packages=len(system.findall("applications/application")),
        mountpoints=tuple(m.text or "" for m in system.findall("mountpoints/mountpoint")),
    )


def measure(image: Path) -> InspectComparison:
    """Both inspectors on ``image``; vmguard first (its runs also warm the page cache)."""
    return InspectComparison(inspect_vmguard(image), inspect_virt_inspector(image))


def main() -> int:
    """Set up the peer and the image, measure, print; 1 when the target is missed."""
    try:
        peers.ensure_virt_inspector()
        comparison = measure(bench_image.bench_image())
    except (peers.PeerSetupFailed, InspectFailed) as err:
        print(f"inspect: FAILED: {err}", file=sys.stderr)
        return 1
    print("\n".join(comparison.lines()))
    return 0 if comparison.ratio >= comparison.target and not comparison.problems else 1


if __name__ == "__main__":
    sys.exit(main())
