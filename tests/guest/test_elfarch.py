"""Architecture from ELF headers of real binaries copied from this machine."""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

from vmguard.guest.elfarch import ELF_FILE_MAX, elf_architecture, read_architecture

from .dirview import DirView


def _small_host_binary() -> Path:
    for candidate in ("/usr/bin/env", "/bin/ls", "/usr/bin/true"):
        path = Path(candidate).resolve()
        if path.stat().st_size <= ELF_FILE_MAX:
            return path
    raise AssertionError("no small ELF binary on this machine")


def test_host_binary_gives_host_arch(tmp_path: Path) -> None:
    (tmp_path / "usr/bin").mkdir(parents=True)
    (tmp_path / "bin").mkdir()
    shutil.copyfile(_small_host_binary(), tmp_path / "usr/bin/dash")
    os.symlink("../usr/bin/dash", tmp_path / "bin/sh")
    gathered = read_architecture(DirView(tmp_path))
    assert gathered.value == platform.machine()
    assert gathered.problems == ()


def test_loader_found_when_no_binaries(tmp_path: Path) -> None:
    loaders = sorted(Path("/lib64").glob("ld-linux*.so*")) + sorted(
        Path("/lib").glob("ld-linux*.so*")
    )
    (tmp_path / "lib").mkdir()
    shutil.copyfile(loaders[0].resolve(), tmp_path / "lib" / loaders[0].name)
    assert read_architecture(DirView(tmp_path)).value == platform.machine()


def test_large_and_non_elf_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    with open(tmp_path / "bin/sh", "wb") as big:
        big.truncate(ELF_FILE_MAX + 1)  # never read: stat says it is too large
    (tmp_path / "bin/ls").write_bytes(b"#!/bin/sh\necho not elf\n")
    (tmp_path / "usr/bin").mkdir(parents=True)
    (tmp_path / "usr/bin/env").write_bytes(b"\x7fELF")  # truncated header
    gathered = read_architecture(DirView(tmp_path))
    assert gathered.value == ""
    assert gathered.problems == ()


def test_header_variants_from_a_real_binary() -> None:
    """Rewrite class/data/e_machine of a real header to check the mapping table."""
    real = bytearray(_small_host_binary().read_bytes()[:64])
    cases = {
        (2, 1, 62): "x86_64",
        (2, 1, 183): "aarch64",
        (1, 1, 3): "i386",
        (1, 1, 40): "arm",
        (2, 1, 21): "ppc64le",
        (2, 2, 21): "ppc64",
        (2, 2, 22): "s390x",
        (2, 1, 243): "riscv64",
        (2, 1, 9999): None,
    }
    for (elf_class, data, machine), expected in cases.items():
        header = bytearray(real)
        header[4], header[5] = elf_class, data
        header[18:20] = machine.to_bytes(2, "little" if data == 1 else "big")
        assert elf_architecture(bytes(header)) == expected, (elf_class, data, machine)
