"""What a check is: rule metadata, and the two kinds of check the scanner runs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from vmguard.findings import Finding, Rule
from vmguard.guest.facts import GuestFacts
from vmguard.guest.view import GuestStat, GuestView


@dataclass(frozen=True, slots=True)
class FileContent:
    """A window of a guest file's content handed to content checks."""

    path: str
    data: bytes
    offset: int
    """Where ``data`` starts in the file (non-zero for later windows of large files)."""
    stat: GuestStat | None = None
    compiled: bool = False
    """The file is an ELF executable or library: key blocks inside are self-test vectors."""


class PathCheck(Protocol):
    """A check of files chosen by path (credential files, histories, cloud-init)."""

    rules: tuple[Rule, ...]

    def wants(self, path: str) -> bool:
        """Cheap filter on the guest path, run before anything is read."""
        ...

    def check(self, content: FileContent) -> Iterable[Finding]:
        """Findings in one file (whole content, up to the scan's per-file cap)."""
        ...


class GuestCheck(Protocol):
    """A check of the guest as a whole (accounts, sshd, sudoers)."""

    rules: tuple[Rule, ...]

    def check(self, view: GuestView, facts: GuestFacts) -> Iterable[Finding]:
        """Findings for the whole guest."""
        ...


def line_of(data: bytes, offset: int) -> int:
    """1-based line number of ``offset`` in ``data``."""
    return data.count(b"\n", 0, offset) + 1
