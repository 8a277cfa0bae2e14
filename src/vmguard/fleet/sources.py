"""Where a fleet's images are: directories, list files and libvirt storage pools.

A directory is walked recursively and each regular file is kept when its *content* says it
is a disk image (a container signature, or for raw files a partition table or filesystem
superblock); names and extensions never decide. A list file holds one image (or directory)
path per line, relative to the list file. A source containing ``://`` is a libvirt
connection URI, optionally followed by ``#POOL``; the volumes of its active storage pools
are listed through libvirt's read-only API.

This module must never follow a symlink out of a walked directory, read more than the few
header bytes format detection needs, or change anything in a libvirt connection.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vmguard.disk.errors import DiskError
from vmguard.disk.probe import detect_format
from vmguard.disk.source import FileSource
from vmguard.fleet.errors import SourceError
from vmguard.problems import Problem, Stage

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_MAX_LIST_BYTES = 16 * 1024 * 1024
_MAX_LIST_ENTRIES = 1_000_000
_MIN_DISK_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The images the sources hold (absolute paths, sorted, without duplicates)."""

    images: tuple[str, ...]
    skipped: tuple[Problem, ...]
    """Files a source named that are not scanned, and why (reported, never dropped)."""


def _raw_disk_signature(source: FileSource) -> bool:
    """Whether a file without a container signature looks like a raw disk or filesystem."""
    size = source.size
    if size < _MIN_DISK_BYTES or size % 512:
        return False
    head = source.read_at(0, 4096)
    return (
        head[510:512] == b"\x55\xaa"  # MBR or protective MBR (GPT)
        or head[1080:1082] == b"\x53\xef"  # ext2/3/4 superblock magic
        or head[:4] == b"XFSB"
        or head[3:11] == b"NTFS    "
        or head[512:520] == b"LABELONE"  # LVM2 physical volume
        or head[:6] == b"LUKS\xba\xbe"
    )


def classify_file(path: Path) -> str | None:
    """None when ``path`` is a disk image by content, else the reason it is not one.

    Files whose content matches a format vmguard refuses (a polyglot, an ISO) count as
    images: the scan records the refusal for that image instead of hiding it.
    """
    try:
        source = FileSource(path)
    except (OSError, DiskError) as err:
        return f"cannot be read: {getattr(err, 'strerror', None) or err}"
    try:
        detection = detect_format(source, path.name)
        if detection.format != "raw":
            return None
        return None if _raw_disk_signature(source) else "not a disk image"
    except DiskError:
        return None
    except OSError as err:
        return f"cannot be read: {err.strerror or err}"
    finally:
        source.close()


def _walk(directory: Path, skipped: list[Problem]) -> Iterator[Path]:
    def on_error(err: OSError) -> None:
        skipped.append(
            Problem(Stage.SOURCES, str(err.filename), f"cannot be listed: {err.strerror}")
        )

    for root, dirs, files in os.walk(directory, onerror=on_error, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            try:
                mode = path.lstat().st_mode
            except OSError as err:
                skipped.append(Problem(Stage.SOURCES, str(path), f"cannot be read: {err.strerror}"))
                continue
            if stat.S_ISLNK(mode):
                skipped.append(Problem(Stage.SOURCES, str(path), "symbolic link (not followed)"))
            elif stat.S_ISREG(mode):
                yield path


def _list_file(path: Path) -> list[Path]:
    try:
        if path.stat().st_size > _MAX_LIST_BYTES:
            raise SourceError(f"{path}: list file larger than {_MAX_LIST_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise SourceError(f"{path}: neither a disk image nor a UTF-8 list of images") from err
    except OSError as err:
        raise SourceError(f"{path}: cannot be read: {err.strerror}") from err
    entries: list[Path] = []
    for line in text.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if len(entries) >= _MAX_LIST_ENTRIES:
            raise SourceError(f"{path}: more than {_MAX_LIST_ENTRIES} entries")
        entries.append((path.parent / entry) if not Path(entry).is_absolute() else Path(entry))
    return entries


def _add_path(path: Path, found: dict[str, None], skipped: list[Problem], *, listed: bool) -> None:
    """Add one file or directory named by the user or a list file."""
    if path.is_dir():
        for file in _walk(path, skipped):
            reason = classify_file(file)
            if reason is None:
                found.setdefault(str(file.resolve()), None)
            else:
                skipped.append(Problem(Stage.SOURCES, str(file), reason))
        return
    if not path.exists():
        if listed:
            skipped.append(Problem(Stage.SOURCES, str(path), "no such file"))
            return
        raise SourceError(f"{path}: no such file or directory")
    if not path.is_file():
        skipped.append(Problem(Stage.SOURCES, str(path), "not a regular file"))
        return
    reason = classify_file(path)
    if reason is None:
        found.setdefault(str(path.resolve()), None)
    elif listed:
        skipped.append(Problem(Stage.SOURCES, str(path), reason))
    elif reason == "not a disk image":
        for entry in _list_file(path):
            _add_path(entry, found, skipped, listed=True)
    else:
        raise SourceError(f"{path}: {reason}")


def collect_catalogue(sources: list[str]) -> Catalogue:
    """Every image the sources name; raises ``SourceError`` for an unusable source."""
    found: dict[str, None] = {}
    skipped: list[Problem] = []
    for source in sources:
        if _URI.match(source):
            from vmguard.fleet.libvirt_pools import pool_volumes

            for volume in pool_volumes(source, skipped):
                _add_path(Path(volume), found, skipped, listed=True)
        else:
            _add_path(Path(source), found, skipped, listed=False)
    return Catalogue(tuple(sorted(found)), tuple(skipped))
