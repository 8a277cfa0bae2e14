"""One harness under atheris (coverage-guided, libFuzzer): ``atheris_target.py NAME ARGS``.

Started by ``run.py`` once per harness; the libFuzzer ARGS (corpus directories, -runs,
-max_total_time, -artifact_prefix, ...) pass through. vmguard's modules are instrumented
for coverage; an exception other than VmguardError is reported by atheris as a crash and
its input written under -artifact_prefix.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import atheris

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

# Every parser module is imported inside the block, so each one is instrumented (harnesses
# import some readers lazily, as vmguard does).
PARSER_PACKAGES = ("disk", "guest", "vmconfig", "vulns", "integrity", "checks")

# The file object libyal readers call back for every small read (SourceFile) is imported
# first, so it stays uninstrumented: it is plumbing with no branch on the input's bytes, and
# instrumented it cost 76,000 coverage-hooked calls per hostile ext superblock (the ext
# harness ran at under 100 executions a second). What it imports stays uninstrumented too:
# the error classes and vmguard.text (whose escaping has its own tests).
import vmguard.disk.source  # noqa: E402  (before instrumentation, on purpose)

with atheris.instrument_imports(include=["vmguard"]):
    import vmguard

    for package in PARSER_PACKAGES:
        module = importlib.import_module(f"vmguard.{package}")
        for info in pkgutil.walk_packages(module.__path__, f"vmguard.{package}."):
            try:
                importlib.import_module(info.name)
            except ImportError:  # an optional reader whose library is absent
                continue
    from fuzz.harnesses import HARNESSES, run_one

del vmguard


def main() -> None:
    """Fuzz the harness named by the first argument until libFuzzer's limits stop it."""
    harness = HARNESSES[sys.argv[1]]

    def one_input(data: bytes) -> None:
        run_one(harness, data)

    atheris.Setup([sys.argv[0], *sys.argv[2:]], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
