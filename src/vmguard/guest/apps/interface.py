"""The analyzer protocol for application packages, their bounds and their one error.

An analyzer is asked twice: ``wants`` with only what the walk already knows (path, size,
mode) — cheap, no read — and, for the files it wants, ``analyze`` with a bounded reader of
that one file. Analyzers never see a host path and never read past ``AppLimits``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from vmguard.errors import VmguardError
from vmguard.guest.facts import InstalledPackage, PackageManager, guest_text
from vmguard.problems import Problem

MiB = 1024 * 1024


class AppParseError(VmguardError):
    """One application metadata file that could not be read; recorded, the walk goes on."""


@dataclass(frozen=True, slots=True)
class AppLimits:
    """Bounds on what application analyzers read."""

    max_metadata_bytes: int = 4 * MiB
    """One metadata file (METADATA, package.json, gemspec, installed.json, deps.json)."""
    max_lock_bytes: int = 32 * MiB
    """One lock file (package-lock.json, yarn.lock)."""
    max_archive_bytes: int = 256 * MiB
    """One Java archive on disk; larger ones are listed in the problems, not read."""
    max_nested_bytes: int = 64 * MiB
    """One archive nested in another (expanded)."""
    max_expanded_bytes: int = 512 * MiB
    """Everything expanded out of one outer archive, all depths together."""
    max_nested_depth: int = 3
    """Archives inside archives (an ear holding a war holding a jar is depth 2)."""
    max_archive_members: int = 100_000
    """Members listed from one archive, all depths together."""
    max_ratio: int = 200
    """Largest expansion ratio of one compressed member (zip bombs sit far above it)."""
    max_binary_bytes: int = 1024 * MiB
    """Executables larger than this are not looked into."""
    max_section_bytes: int = 16 * MiB
    """One ELF section read (Go build info, cargo-auditable dependency list)."""
    max_packages_per_file: int = 100_000


DEFAULT_APP_LIMITS = AppLimits()

Reader = Callable[[int, int], bytes]
"""(offset, length) -> the bytes of one guest file (fewer at its end)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file an analyzer wants: where it is, how big, and how to read it."""

    path: str
    size: int
    read: Reader


class Analyzer(Protocol):
    """One kind of application package metadata."""

    def wants(self, path: str, size: int, mode: int) -> bool:
        """Whether this file is for this analyzer; from the path and stat alone."""
        ...

    def analyze(
        self, file: Candidate, limits: AppLimits, problems: list[Problem]
    ) -> list[InstalledPackage]:
        """The packages the file records; raises ``AppParseError`` when it cannot be read.

        What stops only part of the file from being read (one nested archive) is appended
        to ``problems`` and the rest is still returned.
        """
        ...


def read_whole(file: Candidate, limit: int) -> bytes:
    """The whole file, refused with ``AppParseError`` when larger than ``limit``."""
    if file.size > limit:
        raise AppParseError(f"{file.size} bytes, more than the {limit} read for metadata")
    return file.read(0, file.size)


def app_package(
    manager: PackageManager, name: object, version: object, path: str
) -> InstalledPackage | None:
    """A package from guest strings, or None when the name or version is missing."""
    if not isinstance(name, str) or not isinstance(version, str):
        return None
    clean_name, clean_version = guest_text(name, max_chars=512), guest_text(version, max_chars=256)
    if not clean_name or not clean_version:
        return None
    return InstalledPackage(
        name=clean_name, version=clean_version, arch="", manager=manager, path=path
    )
