"""Tests that patch a function of a compiled module, run where the patch takes effect.

Module-level constants of the modules in ``vmguard.native.COMPILED`` stay patchable when
they are compiled (they are read from the module's namespace), but a call between compiled
functions goes straight to the compiled code: patching the callee changes nothing there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vmguard import native

ROOT = Path(__file__).resolve().parent.parent


def rerun_interpreted(request: pytest.FixtureRequest) -> bool:
    """Under the compiled build, run this test again in an interpreted process (it must
    pass there) and return True; return False when this process already is interpreted."""
    if not native.active():
        return False
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", request.node.nodeid],
        cwd=ROOT,
        env=environment(pure=True),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout, done.stdout[-2000:]
    return True


def require_current_build() -> None:
    """Fail (not skip) when the native build is stale: ``make`` builds it before the tests,
    and a suite run without it would test the interpreted code only."""
    if not native.build_is_current():
        pytest.fail("the native build is stale: run `make native`")


def environment(*, pure: bool) -> dict[str, str]:
    """This process's environment for a child that runs compiled (when the build is
    current) or, with ``pure``, interpreted."""
    env = {k: v for k, v in os.environ.items() if k != native.PURE_ENV}
    return env | {native.PURE_ENV: "1"} if pure else env
