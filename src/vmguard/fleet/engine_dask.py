"""The Dask engine: each image one task on a Dask distributed cluster.

Workers must see the images at the same paths (a shared filesystem) and run the same
vmguard version. Results stream back as tasks finish (``as_completed``); a task whose worker
died (``KilledWorker``) or that failed in transit is an error result for that image. Tasks
are never retried on another worker: a hostile image that kills one worker is not handed to
the next. This module must never start a cluster of its own: it connects to the scheduler
it is given; and it never sends a task that holds volume keys to a scheduler that is not
reached over ``tls://`` (the pickled task would cross the network in plain text).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from vmguard.fleet.engine import failed
from vmguard.fleet.errors import EngineError
from vmguard.fleet.task import ImageResult, ImageTask, scan_task


@dataclass(frozen=True, slots=True)
class DaskEngine:
    """A connection to a Dask distributed scheduler."""

    scheduler: str
    """``tcp://HOST:PORT``."""
    connect_timeout: float = 10.0

    @property
    def name(self) -> str:
        """The engine's name in the run record."""
        return "dask"

    def run(self, tasks: Sequence[ImageTask]) -> Iterator[ImageResult]:
        """Results as they finish on the cluster."""
        if not self.scheduler.startswith("tls://") and any(t.options.image.secrets for t in tasks):
            raise EngineError(
                "volume keys (--key-file/--passphrase-file) go to a Dask scheduler only over "
                "tls://: the tasks would cross the network in plain text"
            )
        try:
            from distributed import Client, as_completed
        except ImportError as err:
            raise EngineError(
                "--engine dask needs Dask distributed (pip install vmguard[dask])"
            ) from err
        try:
            client = Client(  # type: ignore[no-untyped-call]
                self.scheduler, timeout=self.connect_timeout
            )
        except (OSError, TimeoutError, ValueError) as err:
            raise EngineError(
                f"cannot reach the Dask scheduler at {self.scheduler}: {err}".splitlines()[0]
            ) from err
        try:
            if not tasks:
                return
            batch = uuid.uuid4().hex[:12]
            futures = {
                client.submit(
                    scan_task, task, key=f"vmguard-scan-{batch}-{i}", pure=False, retries=0
                ): task
                for i, task in enumerate(tasks)
            }
            for future in as_completed(futures):  # type: ignore[no-untyped-call]
                task = futures[future]
                try:
                    result = future.result()
                except Exception as err:  # KilledWorker, lost in transit, cancelled
                    yield failed(
                        task,
                        f"Dask task failed ({type(err).__name__}): "
                        f"{' '.join(str(err).split())[:200]}",
                    )
                    continue
                if isinstance(result, ImageResult):
                    yield result
                else:
                    yield failed(task, "Dask worker returned something that is not a result")
                future.release()
        finally:
            client.close()  # type: ignore[no-untyped-call]
