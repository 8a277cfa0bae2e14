"""What a scan engine is: it runs ``scan_task`` once per image and yields results as they
finish, in whatever order they finish.

An engine must never raise for one image: a task that fails, a worker that dies, a result
that cannot come back are each yielded as an ``error`` result for that image. It raises
``EngineError`` only when it cannot run at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Protocol

from vmguard.fleet.task import ImageResult, ImageTask


class ScanEngine(Protocol):
    """Runs image tasks somewhere and streams their results back."""

    @property
    def name(self) -> str:
        """``local`` or ``dask``, for the run record."""
        ...

    def run(self, tasks: Sequence[ImageTask]) -> Iterator[ImageResult]:
        """One result per task, yielded as each finishes."""
        ...


def failed(task: ImageTask, message: str) -> ImageResult:
    """The result recorded for a task the engine could not complete."""
    return ImageResult(task.path, "error", datetime.now(UTC), 0.0, error=message)
