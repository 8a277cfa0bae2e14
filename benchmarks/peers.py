"""Install the peer tools the benchmarks compare against, outside vmguard's dependencies.

libguestfs (virt-inspector) comes from Debian with a kernel for its appliance; dissect.target
goes into its own virtualenv at benchmarks/.peer-venv. Both are (A)GPL: they are measured
against, never imported by vmguard, and never installed into the project's venv.

Every step checks first and does nothing when already done, so a second run is quick.
Run alone to install and check both peers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PEER_VENV = Path(__file__).resolve().parent / ".peer-venv"

DEBIAN_PACKAGES: tuple[str, ...] = ("libguestfs-tools", "linux-image-amd64")
"""virt-inspector, and a kernel in /boot for supermin to build the appliance from."""

DISSECT_REQUIREMENTS: tuple[str, ...] = (
    "dissect.target==3.25.1",
    # dissect.target alone has no filesystem parsers; these are the ones the image uses.
    "dissect.extfs==3.15",
    "dissect.xfs==3.13",
    "dissect.fat==3.13",
    "dissect.btrfs==1.10",  # the btrfs walk's peer (AGPL-3.0: measured against, never read)
)

DETECT_SECRETS_REQUIREMENTS: tuple[str, ...] = ("detect-secrets==1.5.0",)
"""Yelp's detect-secrets, the peer of the scan benchmark (Apache-2.0, but still a peer only)."""

APPLIANCE_DIR = Path(f"/var/tmp/.guestfs-{os.getuid()}/appliance.d")
"""Where libguestfs caches the supermin appliance it builds on first launch."""


class PeerSetupFailed(RuntimeError):
    """A peer could not be installed or does not work on this machine."""


def _run(*cmd: str | Path, env: dict[str, str] | None = None) -> None:
    """Run a setup command, raising with its output's tail when it fails."""
    result = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, env=env, check=False
    )
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-3000:]
        raise PeerSetupFailed(f"{cmd[0]} failed ({result.returncode}):\n{tail}")


def _missing_debian_packages() -> list[str]:
    """The ``DEBIAN_PACKAGES`` dpkg does not list as installed."""
    missing = []
    for package in DEBIAN_PACKAGES:
        status = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package],
            capture_output=True,
            text=True,
            check=False,
        )
        if "install ok installed" not in status.stdout:
            missing.append(package)
    return missing


def kvm_usable() -> bool:
    """Whether qemu can run a KVM guest here.

    /dev/kvm can exist and still fail: on nested hosts qemu aborts at vCPU reset ("failed
    to set MSR 0x10a"). A guest that is still running after two seconds proves KVM works.
    ``VMGUARD_BENCH_KVM=0|1`` overrides the probe.
    """
    forced = os.environ.get("VMGUARD_BENCH_KVM")
    if forced in ("0", "1"):
        return forced == "1"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK) or not shutil.which("qemu-system-x86_64"):
        return False
    probe = ["qemu-system-x86_64", "-accel", "kvm", "-cpu", "host", "-M", "q35"]
    probe += ["-display", "none", "-nodefaults", "-no-reboot"]
    try:
        subprocess.run(probe, capture_output=True, timeout=2, check=False)
    except subprocess.TimeoutExpired:
        return True
    return False


def libguestfs_env() -> dict[str, str]:
    """The environment virt-inspector runs in: direct backend, TCG when KVM is unusable."""
    env = dict(os.environ, LIBGUESTFS_BACKEND="direct")
    if not kvm_usable():
        env["LIBGUESTFS_BACKEND_SETTINGS"] = "force_tcg"
    return env


def ensure_virt_inspector() -> None:
    """Install libguestfs-tools and a kernel if missing; build the appliance once."""
    missing = _missing_debian_packages()
    if missing:
        print(f"peers: apt-get install {' '.join(missing)}", flush=True)
        apt_env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        _run("apt-get", "update", "-qq", env=apt_env)
        _run("apt-get", "install", "-y", "-qq", *missing, env=apt_env)
    if not list(Path("/boot").glob("vmlinuz-*")):
        raise PeerSetupFailed("no kernel in /boot: libguestfs cannot build its appliance")
    if not (APPLIANCE_DIR / "kernel").exists():
        # The first launch builds the appliance (~1 min); do it here, not in a timed run.
        print("peers: libguestfs-test-tool (builds the appliance)", flush=True)
        _run("libguestfs-test-tool", env=libguestfs_env())


def peer_python() -> Path:
    """The interpreter of the dissect.target virtualenv."""
    return PEER_VENV / "bin" / "python"


def ensure_dissect() -> None:
    """Create benchmarks/.peer-venv and install the peers' requirements when they changed."""
    stamp = PEER_VENV / ".installed"
    wanted = "\n".join(DISSECT_REQUIREMENTS + DETECT_SECRETS_REQUIREMENTS) + "\n"
    if stamp.exists() and stamp.read_text() == wanted and peer_python().exists():
        return
    print(f"peers: pip install {' '.join(DISSECT_REQUIREMENTS)} into {PEER_VENV}", flush=True)
    if not peer_python().exists():
        _run(sys.executable, "-m", "venv", PEER_VENV)
    _run(
        peer_python(),
        "-m",
        "pip",
        "install",
        "-q",
        *DISSECT_REQUIREMENTS,
        *DETECT_SECRETS_REQUIREMENTS,
    )
    _run(
        peer_python(),
        "-c",
        "import dissect.target, dissect.extfs, dissect.xfs, dissect.fat, dissect.btrfs",
    )
    _run(peer_python(), "-c", "import detect_secrets")
    stamp.write_text(wanted)


def main() -> int:
    """Install both peers and say how virt-inspector will run."""
    try:
        ensure_virt_inspector()
        ensure_dissect()
    except PeerSetupFailed as err:
        print(f"peers: {err}", file=sys.stderr)
        return 1
    mode = "KVM" if kvm_usable() else "qemu TCG, KVM unusable here"
    print(f"peers: virt-inspector ready ({mode}); dissect.target in {PEER_VENV}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
