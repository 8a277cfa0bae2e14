"""The machine architecture of a Linux guest, from the ELF header of a core binary.

Only the first bytes of a handful of well-known executables are looked at (e_ident and
e_machine); nothing is executed or loaded. Files larger than ``ELF_FILE_MAX`` are skipped
rather than read, because the view only reads whole files.
"""

from __future__ import annotations

import fnmatch
import stat as statmod
from typing import Literal

from vmguard.errors import VmguardError
from vmguard.guest.errors import GuestFactsError, read_guest_file
from vmguard.guest.facts import Gathered
from vmguard.guest.view import GuestView
from vmguard.problems import Problem, Stage

ELF_FILE_MAX = 1024 * 1024
"""Largest binary read to look at its header (the view reads whole files)."""

ELF_HEADER_BYTES = 64
"""Bytes of an ELF file looked at: the ELF64 header is 64 bytes, ELF32's 52."""

CANDIDATES = ("/bin/sh", "/usr/bin/env", "/bin/ls", "/bin/busybox", "/usr/bin/ls")
"""Binaries present on nearly every Linux system, tried in order."""

LOADER_DIRS = ("/lib", "/lib64", "/usr/lib", "/usr/lib64")
LOADER_PATTERNS = ("ld-linux*.so*", "ld-musl-*.so*", "ld64.so*", "ld.so.1")
MAX_LOADER_CANDIDATES = 8

_ELFCLASS32, _ELFCLASS64 = 1, 2
_ELFDATA2LSB, _ELFDATA2MSB = 1, 2

# e_machine -> (name for 32-bit class, name for 64-bit class); "le"/"be" variants below.
_MACHINES: dict[int, tuple[str, str]] = {
    3: ("i386", "i386"),
    62: ("x86_64", "x86_64"),
    40: ("arm", "arm"),
    183: ("aarch64", "aarch64"),
    20: ("ppc", "ppc"),
    21: ("ppc64", "ppc64"),
    22: ("s390", "s390x"),
    243: ("riscv32", "riscv64"),
    8: ("mips", "mips64"),
    258: ("loongarch32", "loongarch64"),
    2: ("sparc", "sparc64"),
    43: ("sparc64", "sparc64"),
}
_LITTLE_ENDIAN_NAMES = {
    "ppc64": "ppc64le",
    "mips": "mipsel",
    "mips64": "mips64el",
    "aarch64": "aarch64",
}
_BIG_ENDIAN_NAMES = {"aarch64": "aarch64_be", "arm": "armeb"}


def elf_architecture(header: bytes) -> str | None:
    """``uname -m`` style architecture of an ELF header, None if not ELF or unknown."""
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    elf_class, data = header[4], header[5]
    if elf_class not in (_ELFCLASS32, _ELFCLASS64) or data not in (_ELFDATA2LSB, _ELFDATA2MSB):
        return None
    order: Literal["little", "big"] = "little" if data == _ELFDATA2LSB else "big"
    machine = int.from_bytes(header[18:20], order)
    names = _MACHINES.get(machine)
    if names is None:
        return None
    name = names[1] if elf_class == _ELFCLASS64 else names[0]
    if order == "little":
        return _LITTLE_ENDIAN_NAMES.get(name, name)
    return _BIG_ENDIAN_NAMES.get(name, name)


def _loader_paths(view: GuestView, problems: list[Problem]) -> list[str]:
    """Dynamic loaders found in the usual library directories (bounded)."""
    found: list[str] = []
    for directory in LOADER_DIRS:
        try:
            names = view.list_dir(directory) or []
        except VmguardError as err:
            problems.append(Problem(Stage.FACTS, directory, err.diagnostics()))
            continue
        for name in sorted(names):
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in LOADER_PATTERNS):
                found.append(f"{directory}/{name}")
                if len(found) >= MAX_LOADER_CANDIDATES:
                    return found
    return found


def _header_of(view: GuestView, path: str) -> bytes | None:
    """First bytes of a regular file no larger than ELF_FILE_MAX, else None."""
    try:
        info = view.stat(path)
    except VmguardError as err:
        raise GuestFactsError(path, err.diagnostics()) from err
    if info is None or not statmod.S_ISREG(info.mode) or info.size > ELF_FILE_MAX:
        return None
    data = read_guest_file(view, path, ELF_FILE_MAX)
    return None if data is None else data[:ELF_HEADER_BYTES]


def read_architecture(view: GuestView) -> Gathered[str]:
    """Architecture of the first readable ELF binary among well-known ones, or ``""``."""
    problems: list[Problem] = []
    for path in (*CANDIDATES, *_loader_paths(view, problems)):
        try:
            header = _header_of(view, path)
        except GuestFactsError as err:
            problems.append(Problem(Stage.FACTS, path, err.reason))
            continue
        if header is None:
            continue
        arch = elf_architecture(header)
        if arch is not None:
            return Gathered(arch, tuple(problems))
    return Gathered("", tuple(problems))
