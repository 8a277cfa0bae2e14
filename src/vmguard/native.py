"""The hot path of a filesystem walk, compiled to C by mypyc from the same Python source.

``COMPILED`` lists the modules a walk spends its time in (the btrfs reader, the qcow2
reader, the byte sources, ``GuestFS``); ``C_EXTENSIONS`` one helper written in C beside
them. ``python -m vmguard.native_build`` (``make native``) compiles them next to their
sources and records which sources the build depends on (the compiled modules and every
vmguard module they import, directly or not: mypyc builds in what it knows of them) with
their digest. There is one implementation, not two: the compiled modules are the Python
modules, type-checked and translated, and the interpreted ones stay importable.

At import, ``prefer_sources`` keeps the build out when it is not the code in the tree (a
source edited since, a checkout of another commit, an artifact missing) or when
``VMGUARD_PURE_PYTHON`` is set (the fuzzing harnesses, which measure coverage of Python
code, and anyone comparing the two). A stale build thus costs speed, never correctness.
"""

from __future__ import annotations

import functools
import importlib
import importlib.machinery
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType

COMPILED = (
    "vmguard.disk.guestfs",
    "vmguard.disk.source",
    "vmguard.disk.containers.qcow2_disk",
    "vmguard.disk.btrfs.chunks",
    "vmguard.disk.btrfs.extentdata",
    "vmguard.disk.btrfs.files",
    "vmguard.disk.btrfs.filesystem",
    "vmguard.disk.btrfs.items",
    "vmguard.disk.btrfs.leaffiles",
    "vmguard.disk.btrfs.tree",
    "vmguard.disk.btrfs.volume",
)
C_EXTENSIONS = {"vmguard.disk.btrfs._leaf": "vmguard/disk/btrfs/_leaf.c"}
"""Helpers written in C, by module: each has an interpreted twin its caller falls back to
(when ``build_wanted`` is false), and tests compare the two."""
PURE_ENV = "VMGUARD_PURE_PYTHON"
"""Set (to anything but empty) to run the interpreted modules even when a build exists."""
PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PACKAGE_DIR.parent
GROUP = "vmguard_native"
"""The shared library every compiled module of the build lives in (``vmguard_native__mypyc``)."""
DIGEST_FILE = PACKAGE_DIR / "native.digest"
"""What the build depends on (git-ignored, written by the build): the digest on the first
line, then a line per module: its name, and its source's modification time (ns) and size
when the build read it."""


def source_path(module: str) -> Path:
    """The ``.py`` file of one of vmguard's modules."""
    return SOURCE_ROOT.joinpath(*module.split(".")).with_suffix(".py")


def module_source(module: str) -> Path:
    """The file a module is read from: its ``.py``, or its package's ``__init__.py``."""
    source = source_path(module)
    return source if source.is_file() else source.with_suffix("") / "__init__.py"


def sources_digest(modules: Iterable[str]) -> str:
    """SHA-256 over the interpreter's version, ``modules``' names and sources (a package by
    its ``__init__.py``) and the C helpers' sources; OSError when one is missing."""
    import hashlib  # only when a source's time or size changed: vmguard's start-up stays light

    digest = hashlib.sha256(f"{sys.implementation.cache_tag}\0".encode())
    for module in sorted(modules):
        digest.update(module.encode() + b"\0" + module_source(module).read_bytes() + b"\0")
    for module, c_source in sorted(C_EXTENSIONS.items()):
        digest.update(module.encode() + b"\0" + (SOURCE_ROOT / c_source).read_bytes() + b"\0")
    return digest.hexdigest()


def stamps(modules: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Modification time (ns) and size of each module's source and each C helper's, by
    module; OSError when one is missing."""
    found = {}
    for module in modules:
        info = module_source(module).stat()
        found[module] = (info.st_mtime_ns, info.st_size)
    for module, c_source in C_EXTENSIONS.items():
        info = (SOURCE_ROOT / c_source).stat()
        found[module] = (info.st_mtime_ns, info.st_size)
    return found


def record_text(digest: str, stamped: dict[str, tuple[int, int]]) -> str:
    """``DIGEST_FILE``'s content for a build of these sources."""
    lines = [digest, *(f"{m} {t} {n}" for m, (t, n) in sorted(stamped.items()))]
    return "\n".join(lines) + "\n"


def extension_paths() -> list[Path]:
    """The files a complete build leaves in the source tree."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    built = [source_path(m).with_suffix(suffix) for m in (*COMPILED, *C_EXTENSIONS)]
    return [*built, SOURCE_ROOT / f"{GROUP}__mypyc{suffix}"]


def recorded_build() -> tuple[str, dict[str, tuple[int, int]]] | None:
    """The digest and the stamped modules the last build recorded; None without a
    readable record."""
    try:
        digest, *rows = DIGEST_FILE.read_text(encoding="utf-8").splitlines()
        stamped = {}
        for row in rows:
            module, mtime, size = row.split(" ")
            stamped[module] = (int(mtime), int(size))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not all(m.startswith("vmguard.") for m in stamped):
        return None
    return digest, stamped


def build_is_current() -> bool:
    """Whether a complete build exists and was made from the sources in the tree. Sources
    whose times and sizes are as recorded are taken as the same (one stat each, at every
    start); otherwise (a checkout, an edit undone) their digest decides."""
    recorded = recorded_build()
    if recorded is None:
        return False
    digest, stamped = recorded
    modules = [m for m in stamped if m not in C_EXTENSIONS]
    if not set(COMPILED) <= set(modules) or set(C_EXTENSIONS) - set(stamped):
        return False
    if not all(p.is_file() for p in extension_paths()):
        return False
    try:
        return stamps(modules) == stamped or sources_digest(modules) == digest
    except OSError:  # a module the build depended on is gone
        return False


@functools.cache
def build_wanted() -> bool:
    """Whether this process uses the build: it is current and not refused (decided once,
    when vmguard is imported; a caller of one of ``C_EXTENSIONS`` imports it only then,
    and uses its Python twin otherwise)."""
    return not os.environ.get(PURE_ENV) and build_is_current()


def active() -> bool:
    """Whether the compiled modules are the ones imported in this process."""
    module = sys.modules.get(COMPILED[-1])
    if module is None:
        module = importlib.import_module(COMPILED[-1])
    return not str(module.__file__).endswith(".py")


class _SourcesFirst:
    """Finds vmguard's modules as their ``.py`` files, ahead of any extension beside them
    (those of ``COMPILED``, and any left from a build whose list named more modules); a
    meta path finder (``find_spec`` is all the import system asks of one)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("vmguard."):
            return None
        source = source_path(fullname)
        if not source.is_file():
            return None  # a package (its __init__.py is never compiled) or no such module
        import importlib.util  # only when the sources are preferred

        return importlib.util.spec_from_file_location(fullname, source)


def prefer_sources() -> None:
    """Import the interpreted modules when the build is stale, absent or not wanted."""
    if not build_wanted() and not any(isinstance(f, _SourcesFirst) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourcesFirst())
