"""Java archives (jar, war, ear and plugin archives): ``META-INF/maven/**/pom.properties``,
else ``META-INF/MANIFEST.MF``, and the archives nested inside them.

The outer archive is read through the guest file (zip's central directory and the few
members wanted), never loaded whole. A nested archive is expanded into memory only within
``AppLimits``: its size, its expansion ratio, the depth of nesting, the members listed and
the bytes expanded per outer archive are all capped, so zip bombs (deep, wide or dense)
are refused with a problem, never expanded. Members are never written anywhere.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass

from vmguard.guest.apps.interface import (
    AppLimits,
    AppParseError,
    Candidate,
    Reader,
    app_package,
)
from vmguard.guest.facts import InstalledPackage, PackageManager, guest_text
from vmguard.problems import Problem, Stage

ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".jpi", ".hpi", ".sar", ".par")
_SMALL_MEMBER = 1024 * 1024
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    EOFError,
    ValueError,
    OSError,
    RuntimeError,
    KeyError,
)


class _GuestFile(io.RawIOBase):
    """A read-only, seekable file object over a guest file's reader."""

    def __init__(self, read: Reader, size: int) -> None:
        self._read, self._size, self._pos = read, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        length = min(len(buffer), max(0, self._size - self._pos))
        if length == 0:
            return 0
        data = self._read(self._pos, length)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


@dataclass(slots=True)
class _Budget:
    """What one outer archive may still cost, and where partial failures go."""

    limits: AppLimits
    problems: list[Problem]
    members: int = 0
    expanded: int = 0


def _properties(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", "!")):
            key, _, value = line.replace(":", "=", 1).partition("=")
            found.setdefault(key.strip(), value.strip())
    return found


def _manifest(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line.strip():
            break  # the main section ends at the first blank line
        if line.startswith(" ") and last:
            found[last] += line[1:]
            continue
        key, sep, value = line.partition(":")
        if sep:
            last = key.strip()
            found.setdefault(last, value.strip())
    return found


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.flag_bits & 0x1:
        raise AppParseError("encrypted member")
    if info.file_size > limit:
        raise AppParseError(f"a member of {info.file_size} bytes, more than {limit}")
    with archive.open(info) as member:
        data = member.read(limit + 1)  # the header's size may lie: never read past the cap
    if len(data) > limit:
        raise AppParseError(f"a member expands past {limit} bytes")
    return data


def _own_packages(
    archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], path: str
) -> list[InstalledPackage]:
    found = []
    for info in infos:
        name = info.filename
        if name.startswith("META-INF/maven/") and name.endswith("/pom.properties"):
            props = _properties(_member(archive, info, _SMALL_MEMBER).decode("utf-8", "replace"))
            group, artifact = props.get("groupId"), props.get("artifactId")
            if group and artifact:
                package = app_package("maven", f"{group}:{artifact}", props.get("version"), path)
                if package is not None:
                    found.append(package)
    if found:
        return found
    manifest = next((i for i in infos if i.filename.upper() == "META-INF/MANIFEST.MF"), None)
    if manifest is None:
        return []
    fields = _manifest(_member(archive, manifest, _SMALL_MEMBER).decode("utf-8", "replace"))
    artifact = fields.get("Implementation-Title") or fields.get("Bundle-SymbolicName")
    version = fields.get("Implementation-Version") or fields.get("Bundle-Version")
    group = fields.get("Implementation-Vendor-Id")
    if artifact:
        artifact = artifact.split(";")[0].strip()
        name = f"{group}:{artifact}" if group else artifact
        package = app_package("maven", name, version, path)
        return [package] if package is not None else []
    return []


def _archive_packages(
    source: io.BufferedIOBase | io.BytesIO, path: str, depth: int, budget: _Budget
) -> list[InstalledPackage]:
    limits = budget.limits
    try:
        archive = zipfile.ZipFile(source)
    except _ZIP_ERRORS as err:
        reason = " ".join(str(err).split())[:120]
        raise AppParseError(f"not a readable zip archive: {reason}") from err
    with archive:
        infos = archive.infolist()
        budget.members += len(infos)
        if budget.members > limits.max_archive_members:
            raise AppParseError(f"more than {limits.max_archive_members} archive members")
        found = _own_packages(archive, infos, path)
        for info in infos:
            if not info.filename.lower().endswith(ARCHIVE_SUFFIXES) or info.is_dir():
                continue
            inner = f"{path}!/{guest_text(info.filename, max_chars=1024)}"
            try:
                found += _nested(archive, info, inner, depth + 1, budget)
            except AppParseError as err:
                budget.problems.append(Problem(Stage.FACTS, inner, str(err)))
            if len(found) > limits.max_packages_per_file:
                raise AppParseError(f"more than {limits.max_packages_per_file} packages")
        return found


def _nested(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, depth: int, budget: _Budget
) -> list[InstalledPackage]:
    limits = budget.limits
    if depth > limits.max_nested_depth:
        raise AppParseError(f"nested more than {limits.max_nested_depth} archives deep")
    compressed = max(info.compress_size, 1)
    if info.compress_type != zipfile.ZIP_STORED and info.file_size > compressed * limits.max_ratio:
        raise AppParseError(f"expands {info.file_size // compressed}-fold: refused as a zip bomb")
    budget.expanded += info.file_size
    if budget.expanded > limits.max_expanded_bytes:
        raise AppParseError(f"archives expand past {limits.max_expanded_bytes} bytes in all")
    try:
        data = _member(archive, info, limits.max_nested_bytes)
    except _ZIP_ERRORS as err:
        raise AppParseError(f"unreadable: {' '.join(str(err).split())[:120]}") from err
    return _archive_packages(io.BytesIO(data), path, depth, budget)


class JavaAnalyzer:
    """Maven artifacts in Java archives, nested ones included."""

    manager: PackageManager = "maven"

    def wants(self, path: str, size: int, mode: int) -> bool:
        """A file named like a Java archive."""
        return path.lower().endswith(ARCHIVE_SUFFIXES)

    def analyze(
        self, file: Candidate, limits: AppLimits, problems: list[Problem]
    ) -> list[InstalledPackage]:
        """Every artifact the archive and the archives inside it record; a nested archive
        that cannot be read goes to ``problems`` while the rest is still read."""
        if file.size > limits.max_archive_bytes:
            raise AppParseError(f"{file.size} bytes, more than {limits.max_archive_bytes}")
        source = io.BufferedReader(_GuestFile(file.read, file.size), 64 * 1024)
        try:
            return _archive_packages(source, file.path, 0, _Budget(limits, problems))
        except _ZIP_ERRORS as err:
            reason = " ".join(str(err).split())[:120]
            raise AppParseError(f"unreadable archive: {reason}") from err
