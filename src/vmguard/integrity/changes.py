"""What verification found different from the signed manifest (plain data, no logic)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ChangeKind(StrEnum):
    """Which part of the bundle differs."""

    DISK = "disk"
    DEFINITION = "definition"
    BUNDLE = "bundle"
    """The bundle's shape: a disk or definition missing or extra."""


@dataclass(frozen=True, slots=True)
class ByteRange:
    """A half-open range ``[start, end)`` of a guest-visible disk."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class GuestFileHit:
    """A guest file with blocks inside a changed range."""

    path: str
    """Guest path (mount point joined), or "[disk partition N]/path" when not mounted."""
    volume: str
    """Which volume: "disk.qcow2 partition 2"."""


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between the bundle and its manifest."""

    kind: ChangeKind
    name: str
    """The name the manifest signed (or the given file's name for an extra one)."""
    path: str
    """The file given now ("" when missing)."""
    reason: str
    ranges: tuple[ByteRange, ...] = ()
    """Changed byte ranges of the guest-visible disk (chunk granularity)."""
    regions: tuple[str, ...] = ()
    """Where the ranges fall: volumes, "outside every partition", ..."""
    guest_files: tuple[GuestFileHit, ...] = ()
    """Guest files whose blocks lie in the ranges (at most ``diff.MAX_FILES_LISTED``)."""
    more_files: int = 0
    """How many more guest files were hit than listed."""
