"""The CLI's malloc settings: freed buffers are reused, not faulted in again page by page."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = r"""
import resource, sys
from vmguard.allocator import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "tuned" else None
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
sizes = [40 << 20, 1 << 20, 3 << 20]  # files read whole: a new buffer, filled, dropped
for size in sizes:  # the first buffers are faulted in either way
    buffer = b"x" * size
    del buffer
before = faults()
for _ in range(10):
    for size in sizes:
        buffer = b"x" * size
        del buffer
print(applied, faults() - before)
"""


def _faults(mode: str) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    )
    applied, count = done.stdout.split()
    return applied, int(count)


@pytest.mark.skipif(not os.confstr("CS_GNU_LIBC_VERSION"), reason="glibc's mallopt only")
def test_freed_buffers_are_reused_without_page_faults() -> None:
    _, plain = _faults("plain")
    applied, tuned = _faults("tuned")
    assert applied == "True"
    pages = 10 * (40 << 20) // 4096  # the 40 MiB buffers alone
    assert plain > pages // 2  # glibc's default: a buffer that large is mapped afresh
    assert tuned < pages // 20


def test_the_cli_entry_point_applies_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from vmguard.cli import main

    called: list[bool] = []
    monkeypatch.setattr(main, "keep_freed_memory", lambda: called.append(True) or True)
    monkeypatch.setattr(sys, "argv", ["vmguard", "--version"])
    with pytest.raises(SystemExit):
        main.run()
    assert called == [True]
