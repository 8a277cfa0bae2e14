"""Smoke run of every fuzz harness: its seeds and a few hundred mutants each, bounded.

The long campaigns are ``make fuzz`` (tests/fuzz/run.py); this keeps every harness working
and its contract checked in ``make test``: each input ends normally or in a VmguardError.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from .harnesses import HARNESSES, describe, run_one
from .mutate import mutate
from .seeds import seeds

SMOKE_EXECS = 150
CACHE = Path(__file__).resolve().parents[2] / ".fuzz" / "seeds"


@pytest.mark.parametrize("name", sorted(HARNESSES))
def test_harness_smoke(name: str) -> None:
    harness = HARNESSES[name]
    inputs = seeds(CACHE, name)
    rng = random.Random(name)
    for data in inputs:
        run_one(harness, data)
    for _ in range(SMOKE_EXECS):
        data = mutate(rng.choice(inputs), rng, rng.choice(inputs))
        try:
            run_one(harness, data)
        except Exception as err:
            kept = CACHE.parent / "crashes" / name / f"smoke-{hashlib.sha1(data).hexdigest()}"
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_bytes(data)
            raise AssertionError(f"{name}: {describe(err)}; input kept at {kept}") from err
