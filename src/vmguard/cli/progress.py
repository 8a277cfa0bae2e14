"""Progress bars on stderr for long byte work (scan, sign, verify), for people only.

When stderr is not a terminal (pipes, CI, the libvirt hook) there is no bar and rich's
progress machinery is not even imported: verify's start-up is part of what it is timed by.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from vmguard.text import printable

ByteBar = Callable[[str, int, int], None]
"""(what, bytes done, bytes in all): one bar per distinct ``what``."""


@contextmanager
def byte_bars() -> Iterator[ByteBar | None]:
    """A callback drawing transient bars on stderr, or None when stderr is no terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def update(what: str, done: int, total: int) -> None:
            task = tasks.get(what)
            if task is None:
                shown = escape(printable(what, 60))  # names come from images and users
                task = tasks[what] = bar.add_task(shown, total=total)
            bar.update(task, completed=done, total=total)

        yield update
