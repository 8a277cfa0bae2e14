"""Finding application packages during a walk of the guest.

``AppPackageFinder.consider`` is called by whatever walks the guest (``scan``'s single
walk, or ``find_app_packages`` for the commands that do not walk otherwise) with what the
walk already knows; only files an analyzer's path filter accepts are remembered, and only
those are read, after the walk, each through bounded reads. A file that cannot be read is
one problem; the others are still read.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from functools import partial

from vmguard.disk.guestfs import GuestFS, WalkEntry
from vmguard.errors import VmguardError
from vmguard.guest.apps.binaries import BinaryAnalyzer
from vmguard.guest.apps.interface import (
    DEFAULT_APP_LIMITS,
    Analyzer,
    AppLimits,
    Candidate,
)
from vmguard.guest.apps.java import JavaAnalyzer
from vmguard.guest.apps.manifests import ComposerAnalyzer, DepsJsonAnalyzer, GemspecAnalyzer
from vmguard.guest.apps.node import NodeAnalyzer
from vmguard.guest.apps.python import PythonAnalyzer
from vmguard.guest.facts import Gathered, InstalledPackage, guest_text
from vmguard.problems import Problem, Stage


def default_analyzers() -> tuple[Analyzer, ...]:
    """Every built-in analyzer, metadata files first and executables last."""
    return (
        PythonAnalyzer(),
        NodeAnalyzer(),
        JavaAnalyzer(),
        GemspecAnalyzer(),
        ComposerAnalyzer(),
        DepsJsonAnalyzer(),
        BinaryAnalyzer(),
    )


@dataclass(slots=True)
class AppPackageFinder:
    """Collects candidate files during a walk, then reads them."""

    analyzers: tuple[Analyzer, ...] = field(default_factory=default_analyzers)
    limits: AppLimits = DEFAULT_APP_LIMITS
    _wanted: list[tuple[WalkEntry, Analyzer]] = field(default_factory=list)

    def consider(self, entry: WalkEntry) -> None:
        """Remember ``entry`` if an analyzer wants it (path and stat only, no read)."""
        info = entry.stat
        if not stat.S_ISREG(info.mode) or info.size == 0:
            return
        for analyzer in self.analyzers:
            if analyzer.wants(entry.path, info.size, info.mode):
                self._wanted.append((entry, analyzer))
                return

    def read(self, fs: GuestFS) -> Gathered[tuple[InstalledPackage, ...]]:
        """The packages of every remembered file, sorted by (manager, name, version, path)."""
        packages: list[InstalledPackage] = []
        problems: list[Problem] = []
        for entry, analyzer in self._wanted:
            path = guest_text(entry.path, max_chars=4096)
            candidate = Candidate(path, entry.stat.size, partial(_read, fs, entry))
            try:
                packages += analyzer.analyze(candidate, self.limits, problems)
            except VmguardError as err:
                problems.append(Problem(Stage.FACTS, path, err.diagnostics()))
        unique = {(p.manager, p.name, p.version, p.path): p for p in packages}
        ordered = sorted(unique.values(), key=lambda p: (p.manager, p.name, p.version, p.path))
        return Gathered(tuple(ordered), tuple(problems))


def _read(fs: GuestFS, entry: WalkEntry, offset: int, length: int) -> bytes:
    return fs.read_node(entry.mount, entry.node, offset, length)


def find_app_packages(
    fs: GuestFS, limits: AppLimits = DEFAULT_APP_LIMITS
) -> Gathered[tuple[InstalledPackage, ...]]:
    """Walk the guest once for application packages (for commands that do not scan)."""
    finder = AppPackageFinder(limits=limits)
    problems: list[Problem] = []
    for entry in fs.walk("/", on_error=lambda p, m: problems.append(Problem(Stage.FACTS, p, m))):
        finder.consider(entry)
    found = finder.read(fs)
    return Gathered(found.value, (*problems, *found.problems))
