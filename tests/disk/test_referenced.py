"""A referenced file read lazily (a backing file's clusters, read when the guest needs them)
fails as quietly as one that fails while being opened: nothing of it is quoted."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

from clirunner import vmguard


def _qemu_img(*args: str | Path) -> None:
    subprocess.run(["qemu-img", *map(str, args)], check=True, capture_output=True)


def _backing_with_a_bad_l2_entry(directory: Path) -> Path:
    """A real qcow2 (qemu-img convert of a disk holding data) whose first L2 entry points to
    an unaligned host offset: valid when opened, corrupt when that cluster is read."""
    raw = directory / "base.raw"
    raw.write_bytes(b"NEIGHBOUR-DATA" * 40_000)
    base = directory / "base.qcow2"
    _qemu_img("convert", "-O", "qcow2", raw, base)
    data = bytearray(base.read_bytes())
    l1_table = struct.unpack_from(">Q", data, 40)[0]
    l2_table = struct.unpack_from(">Q", data, l1_table)[0] & 0x00FF_FFFF_FFFF_FE00
    entry = struct.unpack_from(">Q", data, l2_table)[0]
    struct.pack_into(">Q", data, l2_table, entry | 0x200)
    base.write_bytes(bytes(data))
    return base


def test_lazy_reads_of_a_backing_file_are_withheld(tmp_path: Path) -> None:
    _backing_with_a_bad_l2_entry(tmp_path)
    top = tmp_path / "top.qcow2"
    _qemu_img("create", "-f", "qcow2", "-u", "-F", "qcow2", "-b", "base.qcow2", top, "1M")
    for command in ("inspect", "scan"):
        run = vmguard(command, "--format", "json", top, timeout=120)
        output = run.stdout + run.stderr
        assert "Traceback" not in output and "internal error" not in output, output[-500:]
        assert "not quoted" in output, (command, output[-500:])
        # Neither the backing file's offsets nor its data reach any output.
        assert "0x" not in output.replace(str(tmp_path), ""), output[-800:]
        assert "NEIGHBOUR" not in output
