"""A 100 GB sparse disk signs and verifies in flat memory, reading only what is allocated."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from clirunner import MEMORY_CAP, vmguard

GB = 1000**3


def peak_rss(*args: object) -> tuple[int, str, int]:
    """Run ``vmguard ARGS``: exit code, stdout, and that process's own peak RSS in bytes.

    GNU time reports its child's peak; the child was forked from time, not from this
    (large) pytest worker, whose RSS a direct child would inherit into ru_maxrss at exec.
    """
    with tempfile.NamedTemporaryFile() as report:
        cmd = ["/usr/bin/time", "-f", "%M", "-o", report.name, sys.executable, "-m", "vmguard"]
        done = subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, check=False)
        return done.returncode, done.stdout, int(Path(report.name).read_text().split()[-1]) * 1024


def qemu(*args: object) -> None:
    subprocess.run([*map(str, args)], check=True, capture_output=True)


@pytest.mark.skipif(not Path("/usr/bin/time").exists(), reason="GNU time (Debian: time) missing")
def test_hundred_gigabyte_sparse_disk(tmp_path: Path) -> None:
    big = tmp_path / "big.qcow2"
    qemu("qemu-img", "create", "-f", "qcow2", big, "100G")
    for offset in (0, 50 * GB, 100 * GB - 65536):
        qemu("qemu-io", "-f", "qcow2", "-c", f"write -P 9 {offset} 65536", big)
    assert vmguard("keygen", "-o", tmp_path / "k.pem").code == 0
    sig = tmp_path / "big.dsse.json"
    # Each run is capped at MEMORY_CAP (1 GiB) of address space by clirunner.
    signed = vmguard("sign", big, "--key", tmp_path / "k.pem", "-o", sig, timeout=300)
    assert signed.code == 0, signed.stderr
    assert sig.stat().st_size < 1024 * 1024  # zero chunks compress to nothing

    converted = tmp_path / "big.vmdk"
    qemu("qemu-img", "convert", "-O", "vmdk", big, converted)
    verified = vmguard(
        "verify", converted, "--sig", sig, "--pubkey", tmp_path / "k.pem.pub", timeout=300
    )
    assert verified.code == 0, verified.stdout + verified.stderr
    assert "guest content identical" in verified.stdout  # the full content path ran

    qemu("qemu-io", "-f", "vmdk", "-c", f"write -P 7 {70 * GB} 512", converted)
    code, stdout, peak = peak_rss(
        "verify", converted, "--sig", sig, "--pubkey", tmp_path / "k.pem.pub"
    )
    assert code == 1
    start = 70 * GB // 65536 * 65536
    assert f"changed bytes 0x{start:x}-0x{start + 65536:x}" in stdout
    # The content path over all 100 GB: ~80 MB measured, most of it the interpreter.
    assert peak < MEMORY_CAP // 5, peak
