"""``vmguard inspect`` against ``virt-inspector`` on a Windows guest (issue 15).

The guest is the planted Windows Server test guest (tests/windowsplanted.py: GPT with ESP,
Microsoft reserved partition and NTFS filled by ntfs-3g; hives written by Samba and
hivexregedit), converted to qcow2. Both tools run as separate processes, timed by wall
clock, as in bench_inspect.py (whose runners are reused); what each found is compared:
product name, host name, and the programs each lists from the Uninstall keys.
Run alone: ``.venv/bin/python benchmarks/bench_inspect_windows.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import bench_inspect
import peers

# tests/ is not a package: the Windows guest factory is reused by path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from windowsimage import convert, windows_disk
from windowsplanted import build_tree

TARGET_RATIO = 20.0
VIRT_INSPECTOR_RUNS = 1  # ~95 s under TCG on this guest


def windows_image(work: Path) -> Path:
    """The planted Windows guest as qcow2 under ``work``."""
    return convert(windows_disk(build_tree(work / "tree"), work), "qcow2")


def main() -> int:
    """Build the guest, measure both inspectors, print; 1 when the target is missed."""
    try:
        peers.ensure_virt_inspector()
        with tempfile.TemporaryDirectory(prefix="vmguard-bench-windows-") as work:
            image = windows_image(Path(work))
            ours = bench_inspect.inspect_vmguard(image)
            theirs = bench_inspect.inspect_virt_inspector(image, runs=VIRT_INSPECTOR_RUNS)
    except (peers.PeerSetupFailed, bench_inspect.InspectFailed) as err:
        print(f"inspect (windows): FAILED: {err}", file=sys.stderr)
        return 1
    ratio = theirs.seconds / ours.seconds
    problems = []
    if ours.hostname != theirs.hostname:
        problems.append(f"hostname differs: {ours.hostname} vs {theirs.hostname}")
    if ours.packages != theirs.packages:
        problems.append(f"program counts differ: {ours.packages} vs {theirs.packages}")
    verdict = "OK" if ratio >= TARGET_RATIO and not problems else "MISSED"
    print(ours.line().replace("inspect:", "inspect (windows):"))
    print(theirs.line().replace("inspect:", "inspect (windows):"))
    for problem in problems:
        print(f"inspect (windows): problem: {problem}")
    print(
        f"inspect (windows): vmguard {ours.seconds:.2f} s, virt-inspector {theirs.seconds:.1f} s,"
        f" ratio {ratio:.0f}x (target >= {TARGET_RATIO:.0f}x) {verdict}"
    )
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
