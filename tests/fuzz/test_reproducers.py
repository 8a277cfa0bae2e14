"""Every crash a fuzzing campaign found, replayed: its reproducer is committed under
``reproducers/<harness>/`` and must now end normally or in a VmguardError."""

from __future__ import annotations

from pathlib import Path

import pytest

from clirunner import vmguard

from .diskharnesses import PASSPHRASE
from .harnesses import HARNESSES, run_one
from .packed import PackedSource

REPRODUCERS = Path(__file__).resolve().parent / "reproducers"
CASES = sorted(p for p in REPRODUCERS.glob("*/*") if p.is_file())


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_reproducer_no_longer_crashes(path: Path) -> None:
    run_one(HARNESSES[path.parent.name], path.read_bytes())


def _command(harness: str, path: Path, tmp_path: Path) -> tuple[str | Path, ...] | None:
    """The vmguard command a user would run on this input, if one reads it."""
    if harness in ("probe", "ova", "qcow2", "vmdk", "vhd", "vhdx"):
        return ("inspect", "--format", "json", path)
    if harness == "luks-unlock":  # opened with the passphrase the harness uses
        key = tmp_path / "passphrase"
        key.write_bytes(PASSPHRASE)
        return ("scan", "--format", "json", "--key-file", key, path)
    if harness in (
        "ext",
        "fat",
        "ntfs",
        "btrfs",
        "gpt",
        "mbr",
        "other-tables",
        "lvm",
        "luks",
        "bitlocker",
    ):
        return ("scan", "--format", "json", path)
    if harness in ("libvirt-xml", "vmx", "vbox", "ovf"):
        return ("audit", "--format", "json", path)
    if harness in ("osv-zip", "osv-json"):
        return ("db", "import", "--db", tmp_path / "index.sqlite", path)
    return None


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_reproducer_through_the_command(path: Path, tmp_path: Path) -> None:
    """What the user sees: a result, or one line ``vmguard: error: ...`` and exit 2."""
    # A packed input (packed.py) is the image it stands for, written sparse.
    image = PackedSource(path.read_bytes()).write_to(tmp_path / path.name)
    command = _command(path.parent.name, image, tmp_path)
    if command is None:
        pytest.skip("no command reads this input on its own")
    run = vmguard(*command)
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr, run.stderr
    assert "aborted" not in run.stderr, run.stderr
    if run.code == 2:
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("vmguard: error: "), run.stderr
    else:
        assert run.code in (0, 1), (run.code, run.stderr[-500:])
