"""Compiles ``vmguard.native.COMPILED`` in place with mypyc (``make native`` runs it).

Kept apart from ``vmguard.native``, which every import of vmguard loads: this one imports
mypyc and setuptools, which only a build needs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from vmguard.native import (
    C_EXTENSIONS,
    COMPILED,
    DIGEST_FILE,
    GROUP,
    SOURCE_ROOT,
    build_is_current,
    source_path,
    sources_digest,
)


def built_extensions() -> list[Path]:
    """The extension modules a build left in the source tree."""
    package = SOURCE_ROOT / "vmguard"
    return [*package.rglob("*.so"), *SOURCE_ROOT.glob(f"{GROUP}__mypyc*.so")]


def build() -> int:
    """Compile ``COMPILED`` in place with mypyc; skipped when the build is current."""
    if build_is_current():
        print("vmguard.native: compiled modules are current")
        return 0
    from mypyc.build import mypycify  # build-time only: mypy is a development dependency
    from setuptools import Extension, setup  # type: ignore[import-untyped]

    build_dir = SOURCE_ROOT.parent / "build" / "native"
    previous = Path.cwd()
    os.chdir(SOURCE_ROOT)  # mypyc names modules by their path from here
    try:
        DIGEST_FILE.unlink(missing_ok=True)
        for old in built_extensions():  # a module no longer listed must not stay compiled
            old.unlink()
        paths = [str(source_path(m).relative_to(SOURCE_ROOT)) for m in COMPILED]
        helpers = [Extension(m, [c], extra_compile_args=["-O2"]) for m, c in C_EXTENSIONS.items()]
        setup(
            name="vmguard-native",
            ext_modules=[
                *mypycify(paths, opt_level="3", group_name=GROUP, target_dir=str(build_dir / "c")),
                *helpers,
            ],
            script_args=[
                "-q",
                "build_ext",
                "--inplace",
                "--build-temp",
                str(build_dir / "o"),
                "--build-lib",
                str(build_dir / "lib"),
            ],
        )
    finally:
        os.chdir(previous)
    DIGEST_FILE.write_text(sources_digest() + "\n", encoding="ascii")
    print(f"vmguard.native: compiled {len(COMPILED)} modules and {len(C_EXTENSIONS)} C helper")
    return 0


if __name__ == "__main__":
    sys.exit(build())
