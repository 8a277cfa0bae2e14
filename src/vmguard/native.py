"""The hot path of a filesystem walk, compiled to C by mypyc from the same Python source.

``COMPILED`` lists the modules a walk spends its time in (the btrfs reader, the qcow2
reader, ``GuestFS``). ``python -m vmguard.native_build`` compiles them next to their sources and
records a digest of those sources; ``make`` runs it after installing. There is one
implementation, not two: the compiled modules are the Python modules, type-checked and
translated, and the interpreted ones stay importable.

At import, ``prefer_sources`` keeps the compiled modules out when they are not the code in
the tree (a source edited since the build, or a checkout of another commit: their digest
differs) or when ``VMGUARD_PURE_PYTHON`` is set (the fuzzing harnesses, which measure
coverage of Python code, and anyone comparing the two). A stale build thus costs speed,
never correctness.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
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
(``native_extension_wanted``), and tests compare the two."""
PURE_ENV = "VMGUARD_PURE_PYTHON"
"""Set (to anything but empty) to run the interpreted modules even when a build exists."""
PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PACKAGE_DIR.parent
GROUP = "vmguard_native"
"""The shared library every compiled module of the build lives in (``vmguard_native__mypyc``)."""
DIGEST_FILE = PACKAGE_DIR / "native.digest"
"""The digest of the sources the build compiled (git-ignored, written by ``build``)."""


def source_path(module: str) -> Path:
    """The ``.py`` file of one of vmguard's modules."""
    return SOURCE_ROOT.joinpath(*module.split(".")).with_suffix(".py")


def sources_digest() -> str:
    """SHA-256 over the compiled modules' names and sources, and the compiler's version."""
    digest = hashlib.sha256(f"{sys.implementation.cache_tag}\0".encode())
    for module in COMPILED:
        digest.update(module.encode() + b"\0" + source_path(module).read_bytes() + b"\0")
    for module, c_source in C_EXTENSIONS.items():
        digest.update(module.encode() + b"\0" + (SOURCE_ROOT / c_source).read_bytes() + b"\0")
    return digest.hexdigest()


def build_is_current() -> bool:
    """Whether a build exists and was made from the sources in the tree."""
    try:
        recorded = DIGEST_FILE.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return False
    return recorded == sources_digest()


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


class _SourcesFirst(importlib.abc.MetaPathFinder):
    """Finds vmguard's modules as their ``.py`` files, ahead of any extension beside them
    (those of ``COMPILED``, and any left from a build whose list named more modules)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("vmguard."):
            return None
        source = source_path(fullname)
        if not source.is_file():
            return None  # a package (its __init__.py is never compiled) or no such module
        return importlib.util.spec_from_file_location(fullname, source)


def prefer_sources() -> None:
    """Import the interpreted modules when the build is stale, absent or not wanted."""
    if not build_wanted() and not any(isinstance(f, _SourcesFirst) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourcesFirst())
