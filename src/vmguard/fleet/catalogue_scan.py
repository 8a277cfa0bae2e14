"""``fleet scan``: decide per image what must be done, run the tasks, store as results come.

Per image, in order of cost:

1. *unchanged*: the stored results were made by this vmguard and these rules, and every
   host file the image pulled in last time has the same size, mtime, ctime, inode and
   device (``identity.unchanged_on_disk``): nothing is read; when the advisory index changed
   since, the stored inventory is matched again (*rematched*) without opening the image;
   an image whose encrypted volumes stayed locked last time is not reused this way when
   keys are given (they may open it now);
2. otherwise a task runs on the engine: it computes the content digest first and stops
   there when it equals the stored one (same rules), else scans the image.

This module must never read an image itself (the engine's tasks do) nor stop a run for one
image's failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from vmguard import __version__
from vmguard.fleet.database import FleetDatabase
from vmguard.fleet.engine import ScanEngine
from vmguard.fleet.identity import rule_version, unchanged_on_disk, vulns_version
from vmguard.fleet.rematch import record_rematch, vulnerability_results
from vmguard.fleet.sources import Catalogue
from vmguard.fleet.store import StoredImage, finish_run, load_images, record_result, start_run
from vmguard.fleet.task import LOCKED_SUFFIX, ImageResult, ImageTask
from vmguard.problems import Problem, Stage
from vmguard.scanning import ScanOptions
from vmguard.vulns.index import AdvisoryIndex

FleetProgress = Callable[[int, int, ImageResult | None], None]
"""(images done, images total, the result that just arrived or None) -> None."""


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What one ``fleet scan`` did."""

    run_id: int
    images: int
    scanned: int
    unchanged: int
    rematched: int
    errors: tuple[Problem, ...]
    """Every image that could not be scanned (``where`` is its path), and why."""
    skipped: tuple[Problem, ...]
    """Files the sources named that are not images or cannot be read."""
    duration: float
    counts: dict[str, int] = field(default_factory=dict)
    refused: tuple[str, ...] = ()
    """Paths of the images among ``errors`` that the path policy refused (``--isolated``)."""


def _reusable(stored: StoredImage | None, rules: str) -> bool:
    return (
        stored is not None
        and stored.scan_id is not None
        and stored.tool_version == __version__
        and stored.rule_version == rules
    )


def _may_open_now(stored: StoredImage | None, options: ScanOptions) -> bool:
    """Whether keys were given and the stored scan left an encrypted volume locked."""
    digest = stored.content_digest if stored is not None else None
    return bool(options.image.secrets) and (digest or "").endswith(LOCKED_SUFFIX)


def scan_catalogue(
    catalogue: Catalogue,
    db: FleetDatabase,
    engine: ScanEngine,
    options: ScanOptions,
    *,
    sources: Sequence[str] = (),
    index: AdvisoryIndex | None = None,
    progress: FleetProgress | None = None,
) -> RunSummary:
    """Scan every image of ``catalogue`` incrementally and store the results in ``db``."""
    clock = time.perf_counter()
    rules = rule_version(options)
    vulns = vulns_version(index) if index is not None else None
    versions = (rules, vulns)
    run_id = start_run(db, engine.name, sources, rules, vulns)
    known = load_images(db)
    total = len(catalogue.images)
    done = 0
    counts = {"scanned": 0, "unchanged": 0, "rematched": 0, "errors": 0}
    errors: list[Problem] = []
    refused: list[str] = []
    tasks: list[ImageTask] = []
    for path in catalogue.images:
        stored = known.get(path)
        if (
            _reusable(stored, rules)
            and stored is not None
            and not _may_open_now(stored, options)
            and unchanged_on_disk(stored.files)
        ):
            if index is not None and stored.vulns_version != vulns:
                record_rematch(db, run_id, stored, index, versions)
                counts["rematched"] += 1
            else:
                record_result(
                    db,
                    run_id,
                    ImageResult(
                        path,
                        "unchanged",
                        datetime.now(UTC),
                        0.0,
                        stored.files,
                        stored.content_digest,
                    ),
                    versions,
                    stored,
                )
                counts["unchanged"] += 1
            done += 1
            if progress:
                progress(done, total, None)
            continue
        digest = stored.content_digest if _reusable(stored, rules) and stored else None
        tasks.append(ImageTask(path, options, known_digest=digest))
    for result in engine.run(tasks):
        stored = known.get(result.path)
        if result.outcome == "unchanged" and stored is not None:
            if index is not None and stored.vulns_version != vulns:
                record_rematch(db, run_id, replace(stored, files=result.files), index, versions)
                counts["rematched"] += 1
            else:
                record_result(db, run_id, result, versions, stored)
                counts["unchanged"] += 1
        elif result.outcome == "scanned":
            # Matched here, not on the worker: the advisory index is a local file.
            extra = vulnerability_results(result.inventory, index)
            record_result(db, run_id, result, versions, stored, extra=extra)
            counts["scanned"] += 1
        else:
            record_result(db, run_id, result, versions, stored)
            errors.append(Problem(Stage.IMAGE, result.path, result.error or "unknown error"))
            refused += [result.path] if result.refused else []
            counts["errors"] += 1
        done += 1
        if progress:
            progress(done, total, result)
    counts["skipped"] = len(catalogue.skipped)
    finish_run(db, run_id, counts)
    return RunSummary(
        run_id,
        total,
        counts["scanned"],
        counts["unchanged"],
        counts["rematched"],
        tuple(errors),
        catalogue.skipped,
        time.perf_counter() - clock,
        counts,
        tuple(refused),
    )
