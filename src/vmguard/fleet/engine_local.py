"""The local engine: a pool of worker processes on this machine (all cores by default).

Workers are forked, as ``vmguard scan``'s are: no re-import of ``__main__``, no start-up cost.
They never use the database connections they inherit, and leave with ``os._exit`` (what
multiprocessing does), so those are never closed from a child either. A worker that dies
(a crash in a native reader on a hostile image) breaks the pool: the unfinished tasks are
run again in a new pool, and a task that was running through two such breaks is recorded
as an error instead of being tried a third time. This module must never run a task in the
calling process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from vmguard.fleet.engine import failed
from vmguard.fleet.task import ImageResult, ImageTask, scan_task

_MAX_BREAKS = 2


@dataclass(frozen=True, slots=True)
class LocalEngine:
    """A process pool on this machine."""

    workers: int = 0
    """Worker processes; 0 means one per CPU."""

    @property
    def name(self) -> str:
        """The engine's name in the run record."""
        return "local"

    def run(self, tasks: Sequence[ImageTask]) -> Iterator[ImageResult]:
        """Results as they finish; a dead worker costs a retry, twice an error."""
        count = self.workers or os.cpu_count() or 1
        pending = list(range(len(tasks)))
        breaks = [0] * len(tasks)
        context = multiprocessing.get_context("fork")
        while pending:
            with ProcessPoolExecutor(
                max_workers=min(count, len(pending)), mp_context=context
            ) as pool:
                futures: dict[Future[ImageResult], int] = {
                    pool.submit(scan_task, tasks[i]): i for i in pending
                }
                pending = []
                waiting = set(futures)
                while waiting:
                    done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                    for future in done:
                        i = futures[future]
                        try:
                            yield future.result()
                        except BrokenProcessPool:
                            breaks[i] += 1
                            if breaks[i] >= _MAX_BREAKS:
                                yield failed(
                                    tasks[i], "the worker process died scanning this image"
                                )
                            else:
                                pending.append(i)
                        except Exception as err:  # a result that could not come back
                            yield failed(tasks[i], f"engine error ({type(err).__name__}): {err}")
