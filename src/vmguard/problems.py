"""What could not be read or checked, in one shape, and the one guarded runner every check
runs under.

Public API:
- ``Problem``: something that could not be read or checked (a partition table, a guest
  file, a VM definition, a check that failed); the run goes on and the problem is reported.
  Reports carry them as ``Report.errors`` (JSON ``errors[]``: ``path`` is ``where``,
  ``message`` is ``reason``).
- ``Stage``: which step of a run met the problem.
- ``run_guarded``: run one check or rule, keep what it found, and turn a failure into one
  ``Problem`` — the same policy for ``scan``, ``audit`` and ``host``.
- ``check_name``: how a check object is named in such a problem.

A problem's ``reason`` is one printable line, already safe to print: it never holds a
traceback, and never the text of an unexpected exception (which may quote hostile input,
secrets included). This module must never print or raise on a check's behalf.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar, TypeVarTuple

from vmguard.errors import VmguardError, one_line

T = TypeVar("T")
Args = TypeVarTuple("Args")


class Stage(StrEnum):
    """The step of a run that met a problem."""

    IMAGE = "image"
    """Opening the disk image container."""
    VOLUMES = "volumes"
    """Partition tables, LVM, encrypted volumes."""
    FILESYSTEMS = "filesystems"
    """Mounting (in memory) and walking filesystems, fstab."""
    FACTS = "facts"
    """Gathering guest or host facts: accounts, packages, configuration files."""
    CONTENT = "content"
    """Reading a file's or unallocated space's content for the content checks."""
    CHECK = "check"
    """A check or rule that failed (see ``run_guarded``)."""
    CONFIG = "config"
    """Reading a VM definition."""
    ADVISORIES = "advisories"
    """Matching packages against the advisory index."""
    POLICY = "policy"
    """Applying a policy file (expired or unknown suppressions)."""
    SANITIZE = "sanitize"
    """Writing a sanitized copy."""
    PROFILE = "profile"
    """A guide profile's mapping onto rules."""
    SOURCES = "sources"
    """Listing the images a fleet source names; a file not scanned is a problem there."""
    STORED = "stored"
    """Read back from a fleet database, which keeps where and reason but not the stage."""


@dataclass(frozen=True, slots=True)
class Problem:
    """Something that could not be read or checked; the run goes on and reports it."""

    stage: Stage
    where: str
    """The path or subject concerned: a guest or host path, an image or definition path,
    or a part of the disk ("gpt", "mbr logical partition 7", "lvm vg0/root")."""
    reason: str
    """What went wrong, one line, already safe to print."""

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


def check_name(check: object) -> str:
    """How a check object is named in a problem: its class and the first of its rule ids."""
    rules = getattr(check, "rules", ())
    ids = [str(getattr(rule, "rule_id", rule)) for rule in rules]
    shown = ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else "")
    return f"{type(check).__name__} ({shown})" if shown else type(check).__name__


def failure_reason(name: str, err: Exception) -> str:
    """The one-line reason recorded when check ``name`` raised ``err``.

    A ``VmguardError`` is an expected refusal (a bound reached, a file unreadable): its
    ``diagnostics()`` is the reason. Anything else is a bug met on odd input: only the
    exception's type is kept, never its text (it may quote the input) nor a traceback.
    """
    if isinstance(err, VmguardError):
        return one_line(f"{name} failed: {err.diagnostics()}")
    return one_line(
        f"{name} failed: unexpected {type(err).__name__} (a vmguard bug: please report)"
    )


def run_guarded(
    check: Callable[[*Args], Iterable[T]],
    *args: *Args,
    name: str,
    where: str,
    problems: list[Problem],
) -> list[T]:
    """Run ``check(*args)`` and return what it found; if it raises, what it found before the
    failure is kept and one ``Problem`` (stage ``CHECK``, at ``where``, naming ``name``) is
    appended to ``problems``.

    Every ``Exception`` is caught — a check that breaks on one hostile input must not lose
    the rest of the report; ``KeyboardInterrupt`` and ``SystemExit`` pass through.
    """
    found: list[T] = []
    try:
        for item in check(*args):
            found.append(item)
    except Exception as err:
        problems.append(Problem(Stage.CHECK, where, failure_reason(name, err)))
    return found
