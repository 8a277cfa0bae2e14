"""Hash each hypervisor package file under the root and compare it with the digest its
package manager recorded (what ``dpkg --verify`` and ``rpm -V`` do for content).

Files are streamed in ``CHUNK`` pieces through ``HostRoot.open_regular`` (no link is
followed out of the root, no FIFO is opened); one file is read at most ``MAX_FILE_BYTES``.
This module must never modify a file and never run the package manager.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from vmguard.host.packages import PackageFile
from vmguard.host.root import HostRoot

CHUNK = 1024 * 1024
MAX_FILE_BYTES = 4 * 1024 * 1024 * 1024


class FileState(StrEnum):
    """How a package file compares with its recorded digest."""

    MODIFIED = "modified"
    MISSING = "missing"
    REPLACED = "replaced"
    """Something other than a regular file (a link, a directory, a FIFO) is in its place."""
    TOO_LARGE = "too-large"


@dataclass(frozen=True, slots=True)
class FileMismatch:
    """A package file that does not match what was installed."""

    file: PackageFile
    state: FileState
    actual: str = ""
    """Hex digest found (same algorithm as recorded), for MODIFIED."""


@dataclass(frozen=True, slots=True)
class PackageVerification:
    """The outcome of checking every hypervisor package file."""

    checked: int
    mismatches: tuple[FileMismatch, ...]


def digest_file(root: HostRoot, path: str, algorithm: str) -> str | FileState:
    """Hex digest of a regular file under the root, or why there is none."""
    handle = root.open_regular(path)
    if handle is None:
        return FileState.MISSING if root.stat(path, follow=False) is None else FileState.REPLACED
    hasher = hashlib.new(algorithm)
    total = 0
    with handle:
        while chunk := handle.read(CHUNK):
            total += len(chunk)
            if total > MAX_FILE_BYTES:
                return FileState.TOO_LARGE
            hasher.update(chunk)
    return hasher.hexdigest()


def _is_link(root: HostRoot, path: str) -> bool:
    """True when ``path`` is itself a link: dpkg lists files by the path they were unpacked
    to, and a link there means the file was replaced (a usr-merge parent link is fine)."""
    info = root.stat(path, follow=False)
    return info is not None and (info.mode & 0o170000) == 0o120000


def verify_package_files(root: HostRoot, files: Sequence[PackageFile]) -> PackageVerification:
    """Compare every file with its recorded digest; only differences are returned."""
    mismatches: list[FileMismatch] = []
    for file in files:
        if _is_link(root, file.path):
            mismatches.append(FileMismatch(file, FileState.REPLACED))
            continue
        result = digest_file(root, file.path, file.algorithm)
        if isinstance(result, FileState):
            mismatches.append(FileMismatch(file, result))
        elif result != file.digest:
            mismatches.append(FileMismatch(file, FileState.MODIFIED, result))
    return PackageVerification(len(files), tuple(mismatches))
