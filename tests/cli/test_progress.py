"""Progress bars: drawn on a terminal for sign, verify and scan; nothing on a pipe."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from clirunner import vmguard
from vmguard.demo.sample import build_sample_vm


def on_a_terminal(*args: str | Path) -> tuple[int, str]:
    """Run vmguard with stderr on a pseudo-terminal; (exit code, what the terminal got)."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "160"}
    cmd = [sys.executable, "-m", "vmguard", *map(str, args)]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    screen = b""
    while select.select([master], [], [], 60)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    os.close(master)
    return process.wait(timeout=60), screen.decode(errors="replace")


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    directory = tmp_path_factory.mktemp("progress")
    sample = build_sample_vm(directory / "vm")
    assert vmguard("keygen", "-o", directory / "k.pem").code == 0
    return sample.image, directory / "k.pem", directory / "k.pem.pub"


def test_bars_on_a_terminal(signed: tuple[Path, Path, Path], tmp_path: Path) -> None:
    image, key, pub = signed
    sig = tmp_path / "s.sig"
    code, screen = on_a_terminal("sign", image, "--key", key, "-o", sig)
    assert code == 0
    assert f"hashing {image.name}" in screen and "MB" in screen
    code, screen = on_a_terminal("verify", image, "--sig", sig, "--pubkey", pub)
    assert code == 0
    assert f"verifying {image.name}" in screen
    code, screen = on_a_terminal("scan", image, "--workers", "1")
    assert f"scanning {image.name}" in screen


def test_no_bars_on_a_pipe(signed: tuple[Path, Path, Path], tmp_path: Path) -> None:
    image, key, pub = signed
    sig = tmp_path / "s.sig"
    assert vmguard("sign", image, "--key", key, "-o", sig).stderr == ""
    run = vmguard("verify", image, "--sig", sig, "--pubkey", pub)
    assert run.code == 0 and run.stderr == ""
