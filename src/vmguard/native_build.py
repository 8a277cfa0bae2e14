"""Compiles ``vmguard.native.COMPILED`` in place with mypyc (``make native`` runs it).

Kept apart from ``vmguard.native``, which every import of vmguard loads: this one imports
mypyc and setuptools, which only a build needs.
"""

from __future__ import annotations

import ast
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
    module_source,
    record_text,
    source_path,
    sources_digest,
    stamps,
)

PROJECT_CONFIG = SOURCE_ROOT.parent / "pyproject.toml"
"""mypy's settings for the project (strict, the libraries without stubs)."""


class SourcesChanged(RuntimeError):
    """A source the build depends on changed while it was being compiled."""


def built_extensions() -> list[Path]:
    """The extension modules a build left in the source tree."""
    package = SOURCE_ROOT / "vmguard"
    return [*package.rglob("*.so"), *SOURCE_ROOT.glob(f"{GROUP}__mypyc*.so")]


def depended_on() -> list[str]:
    """``COMPILED`` and every vmguard module they import, directly or not (mypyc compiles
    in what it knows of an imported module: its constants, its types)."""
    found: set[str] = set()
    pending = list(COMPILED)
    while pending:
        module = pending.pop()
        source = module_source(module)
        if module in found or not source.is_file():
            continue  # an imported name, not a module, or already met
        found.add(module)
        for node in ast.walk(ast.parse(source.read_bytes())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                named = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                named = [a.name for a in node.names]
            else:
                continue
            pending.extend(n for n in named if n.startswith("vmguard."))
    return sorted(found)


def build() -> int:
    """Compile ``COMPILED`` and ``C_EXTENSIONS`` in place; skipped when the build is current."""
    if build_is_current():
        print("vmguard.native: the compiled modules are current")
        return 0
    from mypyc.build import mypycify  # build-time only: mypy is a development dependency
    from setuptools import Extension, setup  # type: ignore[import-untyped,unused-ignore]

    modules = depended_on()
    digest, stamped = sources_digest(modules), stamps(modules)  # recorded if still so after
    build_dir = SOURCE_ROOT.parent / "build" / "native"
    previous = Path.cwd()
    os.chdir(SOURCE_ROOT)  # mypyc names modules by their path from here
    try:
        DIGEST_FILE.unlink(missing_ok=True)
        for old in built_extensions():  # a module no longer listed must not stay compiled
            old.unlink()
        paths = [str(source_path(m).relative_to(SOURCE_ROOT)) for m in COMPILED]
        helpers = [Extension(m, [c], extra_compile_args=["-O2"]) for m, c in C_EXTENSIONS.items()]
        cache = ["--cache-dir", str(build_dir / "mypy_cache")]  # not src/ (the cwd here)
        mypyc_args = ["--config-file", str(PROJECT_CONFIG), *cache, *paths]
        setup(
            name="vmguard-native",
            ext_modules=[
                *mypycify(
                    mypyc_args, opt_level="3", group_name=GROUP, target_dir=str(build_dir / "c")
                ),
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
    if sources_digest(modules) != digest or stamps(modules) != stamped:
        raise SourcesChanged("a source changed during the build: run `make native` again")
    DIGEST_FILE.write_text(record_text(digest, stamped), encoding="utf-8")
    print(f"vmguard.native: compiled {len(COMPILED)} modules and {len(C_EXTENSIONS)} C helper")
    return 0


if __name__ == "__main__":
    sys.exit(build())
