"""Where the shared corpus of real VM definitions lives (``<repo>/../shared/corpus``)."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def corpus_files() -> list[Path]:
    """Every file of the corpus, or a skip when the corpus is not checked out beside the repo."""
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS} (checked out beside the repository?)")
    return sorted(p for p in CORPUS.rglob("*") if p.is_file())
