"""Run the real ``vmguard`` command in a subprocess, optionally under strace, with a memory cap."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MEMORY_CAP = 1024 * 1024 * 1024
_OPEN = re.compile(r'open(?:at2?)?\((?:[A-Z_0-9]+, )?"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Run:
    """What one command run did."""

    code: int
    stdout: str
    stderr: str
    opened: tuple[str, ...]
    """Every path passed to open/openat (when traced)."""


def _capped(limit: int) -> Callable[[], None]:
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return cap


def vmguard(
    *args: str | Path,
    trace: bool = False,
    timeout: float = 60,
    cwd: Path | None = None,
    memory_cap: int = MEMORY_CAP,
) -> Run:
    """Run ``python -m vmguard ARGS`` in a fresh process capped at 1 GiB of address space.

    The cap is inherited by the tools vmguard runs: a command that runs qemu-img (demo
    builds its sample VM with it) needs a larger one, since qemu-img's thread pool alone
    reserves up to ~1.5 GiB (8 MiB stacks, 64 MiB glibc arenas).
    """
    cmd = [sys.executable, "-m", "vmguard", *map(str, args)]
    trace_file = None
    if trace:
        trace_file = (
            Path(os.environ.get("TMPDIR", "/tmp")) / f"vmguard-strace-{os.getpid()}-{id(args)}"
        )
        cmd = [
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=open,openat,openat2",
            "-o",
            str(trace_file),
            *cmd,
        ]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "160"}
    result = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=_capped(memory_cap),
        env=env,
        cwd=cwd,
        check=False,
    )
    opened: tuple[str, ...] = ()
    if trace_file is not None:
        text = trace_file.read_text(errors="replace")
        trace_file.unlink()
        opened = tuple(m.group(1) for m in _OPEN.finditer(text))
    return Run(result.returncode, result.stdout, result.stderr, opened)
