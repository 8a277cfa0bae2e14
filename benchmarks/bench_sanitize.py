"""``vmguard sanitize`` against ``virt-sysprep`` + ``virt-sparsify`` (libguestfs), same guest.

The input is the test suite's planted Debian (tests/plantedimage.py: ext4 root, XFS /home,
secrets everywhere, a deleted key in each filesystem's free space) as qcow2. Both are run
as a user would, as separate processes, timed by wall clock:

- vmguard: ``vmguard sanitize IN -o OUT --format json`` — the operations, free-space
  zeroing, the qcow2 output *and* the re-scan that proves the result;
- libguestfs: ``virt-sysprep -a COPY`` (its default operations, in place on a copy made
  before the clock starts) then ``virt-sparsify COPY OUT`` (direct backend; qemu TCG when
  KVM is unusable, see peers.py). Neither proves anything about its output.

Both outputs are then re-scanned by ``vmguard scan --deleted`` (untimed), so the report
shows what each leaves behind. The ratio is libguestfs' time over vmguard's.
Run alone: ``.venv/bin/python benchmarks/bench_sanitize.py``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import peers
from bench_scan import planted

TARGET_RATIO = 1.0
VMGUARD = Path(sys.executable).with_name("vmguard")
EXPOSURE = ("image-exposure", "guest-to-guest")


class SanitizeBenchFailed(RuntimeError):
    """A sanitizer or the re-scan failed."""


def _timed(args: list[str | Path], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, env=env, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):  # vmguard exits 1 when findings remain (its proof)
        raise SanitizeBenchFailed(f"{Path(str(args[0])).name} failed: {done.stderr[-800:]}")
    return seconds


def leftovers(image: Path) -> tuple[int, int]:
    """(exposure findings at medium or above, deleted remnants) a re-scan still finds."""
    done = subprocess.run(
        [str(VMGUARD), "scan", str(image), "--deleted", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 1):
        raise SanitizeBenchFailed(f"re-scan of {image.name} failed: {done.stderr[-400:]}")
    findings = json.loads(done.stdout)["findings"]
    exposed = [
        f for f in findings
        if f["threat"] in EXPOSURE and f["severity"] in ("critical", "high", "medium")
        and f["location"]["area"] == "file"
    ]  # fmt: skip
    deleted = [f for f in findings if f["location"]["area"] == "unallocated"]
    return len(exposed), len(deleted)


@dataclass(frozen=True, slots=True)
class SanitizeComparison:
    """vmguard sanitize against virt-sysprep + virt-sparsify on one input."""

    input_bytes: int
    vmguard_seconds: float
    vmguard_out_bytes: int
    vmguard_left: tuple[int, int]
    sysprep_seconds: float
    sparsify_seconds: float
    libguestfs_out_bytes: int
    libguestfs_left: tuple[int, int]
    backend: str
    name: str = "sanitize vs virt-sysprep+virt-sparsify"
    target: float = TARGET_RATIO

    @property
    def ratio(self) -> float:
        """libguestfs' total time over vmguard's."""
        return (self.sysprep_seconds + self.sparsify_seconds) / self.vmguard_seconds

    @property
    def problems(self) -> tuple[str, ...]:
        """vmguard's output must be clean by its own re-scan; that is the product's claim."""
        if self.vmguard_left != (0, 0):
            return (f"vmguard's output still has {self.vmguard_left} exposures/remnants",)
        return ()

    def headline(self) -> str:
        """The two times."""
        peer = self.sysprep_seconds + self.sparsify_seconds
        return f"{self.vmguard_seconds:.1f} s vs {peer:.1f} s"

    def lines(self) -> list[str]:
        """The detailed report."""
        exp_v, del_v = self.vmguard_left
        exp_l, del_l = self.libguestfs_left
        return [
            f"sanitize: input planted Debian qcow2, {self.input_bytes / 1e6:,.0f} MB",
            f"sanitize: vmguard sanitize {self.vmguard_seconds:.1f} s (operations, zeroing,"
            f" re-scan); output {self.vmguard_out_bytes / 1e6:,.0f} MB;"
            f" re-scan: {exp_v} exposures, {del_v} deleted remnants",
            f"sanitize: virt-sysprep {self.sysprep_seconds:.1f} s + virt-sparsify"
            f" {self.sparsify_seconds:.1f} s ({self.backend}); output"
            f" {self.libguestfs_out_bytes / 1e6:,.0f} MB;"
            f" re-scan: {exp_l} exposures, {del_l} deleted remnants",
            f"sanitize: ratio {self.ratio:.2f}x (target >= {self.target:.0f}x)",
        ]


def measure(_image: Path | None = None) -> SanitizeComparison:
    """Both sanitizers on the planted guest (the bench image is unused: the comparison needs
    planted secrets to show what each leaves)."""
    env = peers.libguestfs_env()
    backend = "TCG" if "force_tcg" in env.get("LIBGUESTFS_BACKEND_SETTINGS", "") else "KVM"
    with tempfile.TemporaryDirectory(prefix="bench-sanitize-", dir="/var/tmp") as tmp:
        work = Path(tmp)
        source = work / "planted.qcow2"
        subprocess.run(
            ["qemu-img", "convert", "-f", "raw", "-O", "qcow2",
             str(planted() / "planted.raw"), str(source)],
            check=True,
        )  # fmt: skip
        ours = work / "vmguard.qcow2"
        vm_seconds = _timed(
            [VMGUARD, "sanitize", source, "-o", ours, "--format", "json",
             "--output", work / "report.json"]
        )  # fmt: skip
        copy = work / "sysprep.qcow2"
        shutil.copy(source, copy)
        theirs = work / "sparsified.qcow2"
        sysprep = _timed(["virt-sysprep", "--format", "qcow2", "-a", copy], env)
        sparsify = _timed(
            ["virt-sparsify", "--format", "qcow2", "--convert", "qcow2", copy, theirs], env
        )
        return SanitizeComparison(
            source.stat().st_size,
            vm_seconds,
            ours.stat().st_size,
            leftovers(ours),
            sysprep,
            sparsify,
            theirs.stat().st_size,
            leftovers(theirs),
            backend,
        )


def main() -> int:
    """Set up the peer, measure, print; 1 when the target is missed."""
    try:
        peers.ensure_virt_inspector()
        comparison = measure()
    except (peers.PeerSetupFailed, SanitizeBenchFailed) as err:
        print(f"sanitize: FAILED: {err}", file=sys.stderr)
        return 1
    print("\n".join(comparison.lines()))
    return 0 if comparison.ratio >= comparison.target and not comparison.problems else 1


if __name__ == "__main__":
    sys.exit(main())
