"""The operations on the advisory index that commands call: import sources, open for scans.

An import of several sources stores each source in its own transaction, so a source that
fails part-way (an archive past its caps) leaves the index as it was before that source.
Never reads the network.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from vmguard.problems import Problem
from vmguard.vulns.index import AdvisoryIndex, ImportCounts, open_index
from vmguard.vulns.location import resolve_location
from vmguard.vulns.osv import Advisory
from vmguard.vulns.osv_import import (
    DEFAULT_IMPORT_LIMITS,
    ImportLimits,
    file_digest,
    read_source,
)

MAX_SKIPPED_KEPT = 1000
"""Skipped records kept with their reasons; beyond that only the count grows."""


@dataclass(frozen=True, slots=True)
class SourceImport:
    """What importing one file or directory did."""

    source: str
    records: int
    counts: ImportCounts
    skipped: int


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What one ``db import`` did."""

    index_path: str
    sources: tuple[SourceImport, ...]
    skipped: tuple[Problem, ...]
    """The first ``MAX_SKIPPED_KEPT`` skipped records, with reasons."""

    def total(self, field: str) -> int:
        """Sum of one ImportCounts field (``added``, ``updated``...) over the sources."""
        return sum(int(getattr(s.counts, field)) for s in self.sources)


def import_advisories(
    index: AdvisoryIndex,
    paths: Sequence[Path],
    limits: ImportLimits = DEFAULT_IMPORT_LIMITS,
) -> ImportSummary:
    """Import every source into an index opened for writing."""
    sources = []
    skipped: list[Problem] = []
    for path in paths:
        seen = [0, 0]  # records, skipped

        def advisories(path: Path = path, seen: list[int] = seen) -> Iterator[tuple[Advisory, str]]:
            for item in read_source(path, limits):
                if isinstance(item, Problem):
                    seen[1] += 1
                    if len(skipped) < MAX_SKIPPED_KEPT:
                        skipped.append(item)
                    continue
                seen[0] += 1
                yield item.advisory, item.digest

        counts = index.store(advisories())
        index.record_import(str(path), file_digest(path), counts, seen[1])
        sources.append(SourceImport(str(path), seen[0], counts, seen[1]))
    return ImportSummary(str(index.path), tuple(sources), tuple(skipped))


def open_default_index(location: str | Path | None = None) -> AdvisoryIndex:
    """The index at ``location`` (else VMGUARD_DB, else the default), opened read-only.

    Raises ``IndexMissing`` when nothing has been imported there yet.
    """
    return open_index(resolve_location(location), writable=False)
