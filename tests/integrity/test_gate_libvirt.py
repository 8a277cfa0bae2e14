"""End to end: a real libvirtd runs the installed gate; ``virsh start`` of a TCG domain.

libvirtd reads its hook from /etc/libvirt/hooks/qemu, so it runs in a private mount
namespace (``unshare --mount``) where a temporary copy of /etc/libvirt, and empty state
directories, are bind-mounted over the real ones: the host's hook and state are never
touched. The test skips, saying why, where that cannot run (not root, no unshare, no
libvirtd or qemu, the daemon does not come up). Every process it starts is ended by id.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clirunner import vmguard
from conftest import guest_file_offset, qemu_write
from vmguard.integrity.keys import KeyType

NAME = "vmguard-gate-e2e"
TOOLS = ("libvirtd", "virsh", "unshare", "qemu-system-x86_64", "mount")
QEMU_CONF = """
stdio_handler = "file"
user = "root"
group = "root"
security_driver = "none"
remember_owner = 0
namespaces = [ ]
"""


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root to run libvirtd in a private mount namespace"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        return f"missing {', '.join(missing)} (apt-get install libvirt-daemon-system)"
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        return f"cannot make a mount namespace: {probe.stderr.decode().strip()}"
    return None


class Libvirtd:
    """A libvirtd in its own mount namespace, with its own config, state and socket."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for d in ("etc", "lib", "log", "cache", "sock"):
            (root / d).mkdir(parents=True)
        shutil.copytree("/etc/libvirt", root / "etc", dirs_exist_ok=True)
        shutil.rmtree(root / "etc/hooks", ignore_errors=True)
        (root / "etc/hooks").mkdir()
        with open(root / "etc/qemu.conf", "a") as fh:
            fh.write(QEMU_CONF)
        with open(root / "etc/libvirtd.conf", "a") as fh:
            fh.write(f'\nunix_sock_dir = "{root / "sock"}"\n')
        self.uri = f"qemu:///system?socket={root / 'sock/libvirt-sock'}"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def hook(self) -> Path:
        """Where libvirtd (inside the namespace) reads /etc/libvirt/hooks/qemu."""
        return self.root / "etc/hooks/qemu"

    def start(self) -> None:
        r = self.root
        script = (
            f"mount --bind {r}/etc /etc/libvirt && mount --bind {r}/lib /var/lib/libvirt && "
            f"mount --bind {r}/log /var/log/libvirt && "
            f"mount --bind {r}/cache /var/cache/libvirt && mount -t tmpfs tmpfs /run && "
            f"exec libvirtd --pid-file {r}/libvirtd.pid"
        )
        log = open(r / "libvirtd.log", "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--fork", "sh", "-c", script],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for _ in range(300):  # wait for the socket, not a timing assertion
            if self.proc.poll() is not None:
                break
            if (r / "sock/libvirt-sock").exists() and self.virsh("version").returncode == 0:
                return
            time.sleep(0.1)
        text = (r / "libvirtd.log").read_text(errors="replace").strip().splitlines()
        self.stop()
        pytest.skip(f"libvirtd did not come up: {text[-1] if text else 'no output'}")

    def virsh(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["virsh", "-c", self.uri, *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def stop(self) -> None:
        if self.proc is None:
            return
        self.virsh("destroy", NAME)
        self.virsh("undefine", NAME)
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


def _qemu_pids(disk: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(disk).encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


@pytest.fixture
def libvirtd(tmp_path: Path) -> Iterator[Libvirtd]:
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    daemon = Libvirtd(tmp_path / "libvirt")
    try:
        yield daemon
    finally:
        daemon.stop()


def domain(disk: Path) -> str:
    return f"""<domain type='qemu'>
  <name>{NAME}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
"""


def test_virsh_start_is_gated(libvirtd: Libvirtd, sample: Path, key_pairs, tmp_path: Path):
    pair = key_pairs[KeyType.ED25519]
    trust, signatures = tmp_path / "trust", tmp_path / "signatures"
    trust.mkdir()
    signatures.mkdir()
    shutil.copy(pair.public, trust / "ops.pub")
    disk = sample / "sample.qcow2"
    installed = vmguard(
        "gate", "install", "--trust", trust, "--signatures", signatures, "--hook", libvirtd.hook
    )
    assert installed.code == 0, installed.stderr
    libvirtd.start()
    try:
        (tmp_path / "dom.xml").write_text(domain(disk))
        defined = libvirtd.virsh("define", str(tmp_path / "dom.xml"))
        assert defined.returncode == 0, defined.stderr

        unsigned = libvirtd.virsh("start", NAME)
        assert unsigned.returncode != 0
        assert "not signed" in unsigned.stderr

        # The operator's workflow: sign the definition as libvirt holds it, with its disk.
        inactive = tmp_path / "signed.xml"
        inactive.write_text(libvirtd.virsh("dumpxml", "--inactive", NAME).stdout)
        sig = signatures / f"{NAME}.dsse.json"
        signed = vmguard("sign", disk, inactive, "--key", pair.private, "-o", sig)
        assert signed.code == 0, signed.stderr

        started = libvirtd.virsh("start", NAME)
        assert started.returncode == 0, started.stderr
        assert _qemu_pids(disk)
        assert libvirtd.virsh("destroy", NAME).returncode == 0

        qemu_write(disk, "qcow2", guest_file_offset(disk, "/etc/shadow"), b"\x41" * 512)
        refused = libvirtd.virsh("start", NAME)
        assert refused.returncode != 0
        assert "vmguard: refused" in refused.stderr and "/etc/shadow" in refused.stderr
        assert "shut off" in libvirtd.virsh("domstate", NAME).stdout
    finally:
        libvirtd.stop()
        for pid in _qemu_pids(disk):  # only a qemu this test's daemon started for this disk
            os.kill(pid, signal.SIGKILL)
