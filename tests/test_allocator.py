"""The CLI's malloc settings: a large buffer comes from the heap, where the next one reuses
its memory, instead of a mapping of fresh pages made and unmade for each file read."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vmguard.allocator import is_glibc

PROBE = r"""
import ctypes, sys
from vmguard.allocator import keep_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd",
        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = MallInfo2
applied = keep_freed_memory() if sys.argv[1] == "tuned" else None
mapped = mallinfo2().hblkhd
buffer = b"x" * (40 << 20)  # what reading a 40 MiB file whole allocates
print(applied, mallinfo2().hblkhd - mapped)
"""


def _mapped_by_a_40_mib_buffer(mode: str) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True, env=env
    )
    applied, mapped = done.stdout.split()
    return applied, int(mapped)


@pytest.mark.skipif(not is_glibc(), reason="glibc's mallopt and mallinfo2 only")
def test_a_large_buffer_comes_from_the_heap() -> None:
    applied, mapped = _mapped_by_a_40_mib_buffer("plain")
    assert applied == "None" and mapped >= 40 << 20  # glibc's default: a mapping of its own
    assert _mapped_by_a_40_mib_buffer("tuned") == ("True", 0)


def test_the_cli_entry_point_applies_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from vmguard.cli import main

    called: list[bool] = []
    monkeypatch.setattr(main, "keep_freed_memory", lambda: called.append(True) or True)
    monkeypatch.setattr(sys, "argv", ["vmguard", "--version"])
    with pytest.raises(SystemExit):
        main.run()
    assert called == [True]
