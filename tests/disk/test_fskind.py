"""vmguard has a name for every kind the machine's libblkid probes (issue 14): each TYPE
``blkid -k`` lists is an ``FsKind`` value, spelt as blkid spells it."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from vmguard.disk.fskind import FsKind


def test_every_kind_blkid_knows_is_named() -> None:
    if shutil.which("blkid") is None:
        pytest.skip("needs blkid")
    known = subprocess.run(["blkid", "-k"], capture_output=True, text=True, check=True)
    types = known.stdout.split()
    assert len(types) > 50  # a libblkid that probes the usual filesystems
    assert [t for t in types if t not in {kind.value for kind in FsKind}] == []
