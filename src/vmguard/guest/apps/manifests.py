"""Ruby gemspecs, PHP Composer's ``installed.json`` and .NET ``*.deps.json``.

Installed gemspecs (``specifications/*.gemspec``) are Ruby code written by RubyGems; they
are never evaluated: only the ``s.name = "..."`` and ``s.version = "..."`` assignments are
read, else the ``NAME-VERSION.gemspec`` file name. Composer 1 writes installed.json as a
list, Composer 2 as ``{"packages": [...]}``. A deps.json lists ``"Name/Version"`` libraries;
only those of type ``package`` (from NuGet) count, not the application's own projects.
"""

from __future__ import annotations

import json
import re
from typing import Any

from vmguard.guest.apps.interface import (
    AppLimits,
    AppParseError,
    Candidate,
    app_package,
    read_whole,
)
from vmguard.guest.facts import InstalledPackage, PackageManager
from vmguard.problems import Problem

_GEM_NAME = re.compile(rb"""^\s*\w+\.name\s*=\s*["']([^"'\n]{1,200})["']""", re.MULTILINE)
_GEM_VERSION = re.compile(rb"""^\s*\w+\.version\s*=\s*["']([^"'\n]{1,100})["']""", re.MULTILINE)
_GEM_FILE = re.compile(r"^(.+)-([0-9][^-]*(?:-[a-z0-9_]+)?)\.gemspec$")


def _json(file: Candidate, limit: int) -> Any:
    try:
        return json.loads(read_whole(file, limit))
    except (ValueError, RecursionError) as err:
        raise AppParseError(f"not JSON: {' '.join(str(err).split())[:120]}") from err


class GemspecAnalyzer:
    """Installed Ruby gems."""

    manager: PackageManager = "gem"

    def wants(self, path: str, size: int, mode: int) -> bool:
        """A .gemspec in a RubyGems ``specifications`` directory (or its ``default``)."""
        if not path.endswith(".gemspec"):
            return False
        parent = path.rsplit("/", 2)
        return len(parent) == 3 and (
            parent[1] == "specifications"
            or (parent[1] == "default" and parent[0].endswith("/specifications"))
        )

    def analyze(
        self, file: Candidate, limits: AppLimits, problems: list[Problem]
    ) -> list[InstalledPackage]:
        """The one gem the specification describes."""
        data = read_whole(file, limits.max_metadata_bytes)
        name, version = _GEM_NAME.search(data), _GEM_VERSION.search(data)
        if name and version:
            found = app_package(
                "gem",
                name.group(1).decode("utf-8", "replace"),
                version.group(1).decode("utf-8", "replace"),
                file.path,
            )
        else:
            by_name = _GEM_FILE.match(file.path.rsplit("/", 1)[1])
            found = (
                app_package("gem", by_name.group(1), by_name.group(2), file.path)
                if by_name
                else None
            )
        if found is None:
            raise AppParseError("no name and version in the gem specification")
        return [found]


class ComposerAnalyzer:
    """PHP packages installed by Composer."""

    manager: PackageManager = "composer"

    def wants(self, path: str, size: int, mode: int) -> bool:
        """``vendor/composer/installed.json``."""
        return path.endswith("/vendor/composer/installed.json")

    def analyze(
        self, file: Candidate, limits: AppLimits, problems: list[Problem]
    ) -> list[InstalledPackage]:
        """Every package Composer installed into that vendor directory."""
        document = _json(file, limits.max_lock_bytes)
        entries = document.get("packages") if isinstance(document, dict) else document
        if not isinstance(entries, list):
            raise AppParseError("installed.json lists no packages")
        found = []
        for entry in entries[: limits.max_packages_per_file]:
            if isinstance(entry, dict):
                package = app_package(
                    "composer", entry.get("name"), entry.get("version"), file.path
                )
                if package is not None:
                    found.append(package)
        return found


class DepsJsonAnalyzer:
    """NuGet packages a .NET application was built with."""

    manager: PackageManager = "nuget"

    def wants(self, path: str, size: int, mode: int) -> bool:
        """``*.deps.json``."""
        return path.endswith(".deps.json")

    def analyze(
        self, file: Candidate, limits: AppLimits, problems: list[Problem]
    ) -> list[InstalledPackage]:
        """Every library of type ``package``."""
        document = _json(file, limits.max_lock_bytes)
        libraries = document.get("libraries") if isinstance(document, dict) else None
        if not isinstance(libraries, dict):
            raise AppParseError("deps.json has no libraries object")
        found = []
        for key, entry in list(libraries.items())[: limits.max_packages_per_file]:
            if not isinstance(entry, dict) or entry.get("type") != "package":
                continue
            name, sep, version = key.partition("/")
            package = app_package("nuget", name, version, file.path) if sep else None
            if package is not None:
                found.append(package)
        return found
