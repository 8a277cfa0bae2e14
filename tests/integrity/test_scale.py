"""A 100 GB sparse disk signs and verifies in flat memory, reading only what is allocated."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from clirunner import MEMORY_CAP, vmguard

GB = 1000**3


def peak_rss(*args: object) -> tuple[int, str, int]:
    """Run ``vmguard ARGS``: exit code, stdout, and that process's own peak RSS in bytes."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([sys.executable, "-m", "vmguard", *map(str, args)], stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return proc.returncode, out.read().decode(), usage.ru_maxrss * 1024


def qemu(*args: object) -> None:
    subprocess.run([*map(str, args)], check=True, capture_output=True)


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
