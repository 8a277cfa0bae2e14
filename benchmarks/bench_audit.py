"""Benchmark: audit every file of the VM-definition corpus (``tests/data/corpus``).

Runs the library path the CLI uses (parse, rules, one Report per file) and prints files per
second, best of three. Run alone: ``.venv/bin/python benchmarks/bench_audit.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from vmguard.vmconfig.audit import AuditOptions, audit_paths

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "corpus"


def main() -> int:
    """Audit the corpus three times; print files/s of the best run."""
    if not CORPUS.is_dir():
        print(f"bench_audit: corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file())
    best = float("inf")
    findings = errors = 0
    for _ in range(3):
        start = time.perf_counter()
        reports = audit_paths(files, AuditOptions())
        best = min(best, time.perf_counter() - start)
        findings = sum(len(r.findings) for r in reports)
        errors = sum(len(r.errors) for r in reports)
    print(
        f"bench_audit: {len(files)} files in {best:.2f} s = {len(files) / best:.0f} files/s "
        f"({findings} findings, {errors} errors/notes)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
