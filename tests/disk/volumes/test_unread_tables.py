"""Amiga and Atari tables written by parted are named, never read as a filesystem."""

from __future__ import annotations

from pathlib import Path

import pytest
from parted_disks import needs_parted, parted_disk

from vmguard.disk.limits import Limits
from vmguard.disk.source import FileSource
from vmguard.disk.volumes.scan import scan_volumes

pytestmark = needs_parted


@pytest.mark.parametrize(
    ("label", "scheme", "name"),
    [
        ("amiga", "amiga", "Amiga rigid disk block"),
        ("atari", "atari", "Atari AHDI partition table"),
    ],
)
def test_the_table_is_named_and_no_volume_is_returned(
    tmp_path: Path, label: str, scheme: str, name: str
) -> None:
    layout = scan_volumes(FileSource(parted_disk(tmp_path, label)), limits=Limits())
    assert (layout.scheme, layout.volumes) == (scheme, ())
    assert [p.where for p in layout.problems] == ["disk"]
    assert layout.problems[0].reason.startswith(f"{name}")
    assert "does not read this partition table" in layout.problems[0].reason
