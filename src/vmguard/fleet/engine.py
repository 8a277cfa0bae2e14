"""What a scan engine is: it runs ``scan_task`` once per image and yields results as they
finish, in whatever order they finish.

An engine must never raise for one image: a task that fails, a worker that dies, a result
that cannot come back are each yielded as an ``error`` result for that image. It raises
``EngineError`` only when it cannot run at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, assert_never

from vmguard.fleet.errors import EngineError

if TYPE_CHECKING:  # the task module loads the whole scanner: not for ``fleet --help``
    from vmguard.fleet.task import ImageResult, ImageTask


class EngineName(StrEnum):
    """Where image tasks run."""

    LOCAL = "local"
    DASK = "dask"


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
    from vmguard.fleet.task import ImageResult

    return ImageResult(task.path, "error", datetime.now(UTC), 0.0, error=message)


def make_engine(name: EngineName, scheduler: str | None, workers: int) -> ScanEngine:
    """The engine ``--engine`` names: a local pool of ``workers`` processes (0: one per CPU)
    or the Dask cluster at ``scheduler``; ``EngineError`` for settings that contradict it."""
    if workers < 0:
        raise EngineError("--workers must be 0 or more")
    match name:
        case EngineName.LOCAL:
            if scheduler:
                raise EngineError("--scheduler is only for --engine dask")
            from vmguard.fleet.engine_local import LocalEngine

            return LocalEngine(workers)
        case EngineName.DASK:
            if not scheduler:
                raise EngineError("--engine dask needs --scheduler tcp://HOST:PORT")
            from vmguard.fleet.engine_dask import DaskEngine

            return DaskEngine(scheduler)
        case _:
            assert_never(name)
