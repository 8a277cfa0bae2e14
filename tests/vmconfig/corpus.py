"""Where the corpus of real VM definitions lives: ``tests/data/corpus`` (see its SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def corpus_files() -> list[Path]:
    """Every file of the corpus (its SOURCES.md too: audit must refuse it cleanly)."""
    return sorted(p for p in CORPUS.rglob("*") if p.is_file())
