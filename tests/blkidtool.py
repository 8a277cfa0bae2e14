"""util-linux's blkid as the reference every volume-naming test compares vmguard with."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def blkid_type(path: Path) -> str:
    """TYPE as ``blkid -p`` prints it for the file at ``path`` ("" when it names none);
    the test is skipped where blkid is missing (Debian package util-linux)."""
    if shutil.which("blkid") is None:
        pytest.skip("needs blkid (util-linux)")
    out = subprocess.run(["blkid", "-p", "-o", "value", "-s", "TYPE", str(path)],
                         capture_output=True, text=True)  # fmt: skip
    return out.stdout.strip()
