"""Node packages: ``node_modules/**/package.json``, and the project lock files
``package-lock.json`` (lockfile versions 1 to 3) and ``yarn.lock`` (classic and Berry).

A ``package.json`` counts only directly under ``node_modules/NAME/`` or
``node_modules/@scope/NAME/`` (the other package.json files inside a package describe no
install). Lock files inside ``node_modules`` are copies shipped by packages and skipped.
JSON is decoded once, bounded in size; nesting in a v1 lock file is bounded in depth.
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

_MAX_DEPTH = 64
_YARN_ENTRY = re.compile(r'^"?((?:@[^@/"\s]+/)?[^@"\s,]+)@')
_YARN_VERSION = re.compile(r'^\s+version:?\s+"?([^"\s]+)"?\s*$')


def _json(file: Candidate, limit: int) -> Any:
    try:
        return json.loads(read_whole(file, limit))
    except (ValueError, RecursionError) as err:
        raise AppParseError(f"not JSON: {' '.join(str(err).split())[:120]}") from err


def _is_manifest(path: str) -> bool:
    parts = path.split("/")
    if len(parts) < 4 or parts[-1] != "package.json":
        return False
    if parts[-3] == "node_modules":
        return not parts[-2].startswith(("@", "."))
    return len(parts) >= 5 and parts[-4] == "node_modules" and parts[-3].startswith("@")


def _lock_v1(deps: Any, path: str, found: list[InstalledPackage], depth: int, cap: int) -> None:
    if not isinstance(deps, dict) or depth > _MAX_DEPTH:
        return
    for name, entry in deps.items():
        if len(found) >= cap or not isinstance(entry, dict):
            continue
        package = app_package("npm", name, entry.get("version"), path)
        if package is not None and not entry.get("bundled"):
            found.append(package)
        _lock_v1(entry.get("dependencies"), path, found, depth + 1, cap)


def _package_lock(document: Any, path: str, cap: int) -> list[InstalledPackage]:
    if not isinstance(document, dict):
        raise AppParseError("a lock file that is not a JSON object")
    found: list[InstalledPackage] = []
    packages = document.get("packages")
    if isinstance(packages, dict):  # lockfileVersion 2 and 3
        for key, entry in packages.items():
            if len(found) >= cap:
                break
            if not isinstance(key, str) or "node_modules/" not in key:
                continue  # "" is the project itself
            if not isinstance(entry, dict) or entry.get("link"):
                continue
            name = entry.get("name") or key.rsplit("node_modules/", 1)[1]
            package = app_package("npm", name, entry.get("version"), path)
            if package is not None:
                found.append(package)
        return found
    _lock_v1(document.get("dependencies"), path, found, 0, cap)
    return found


def _yarn_lock(text: str, path: str, cap: int) -> list[InstalledPackage]:
    found: list[InstalledPackage] = []
    name: str | None = None
    for line in text.splitlines():
        if len(found) >= cap:
            break
        if line and not line[0].isspace() and not line.startswith("#"):
            entry = _YARN_ENTRY.match(line)
            name = entry.group(1) if entry else None
            continue
        version = _YARN_VERSION.match(line)
        if name is not None and version is not None:
            package = app_package("npm", name, version.group(1), path)
            if package is not None and not version.group(1).startswith("0.0.0-use.local"):
                found.append(package)
            name = None
    return found


class NodeAnalyzer:
    """npm packages installed in node_modules, and those a project's lock file pins."""

    manager: PackageManager = "npm"

    def wants(self, path: str, size: int, mode: int) -> bool:
        """package.json of an installed package, or a project's lock file."""
        if path.endswith("/package.json"):
            return _is_manifest(path)
        if path.endswith(("/package-lock.json", "/yarn.lock")):
            return "/node_modules/" not in path
        return False

    def analyze(
        self, file: Candidate, limits: AppLimits, problems: list[Problem]
    ) -> list[InstalledPackage]:
        """The installed package, or every package the lock file pins."""
        cap = limits.max_packages_per_file
        if file.path.endswith("/package.json"):
            document = _json(file, limits.max_metadata_bytes)
            if not isinstance(document, dict):
                raise AppParseError("package.json is not a JSON object")
            package = app_package("npm", document.get("name"), document.get("version"), file.path)
            return [package] if package is not None else []
        if file.path.endswith("/yarn.lock"):
            text = read_whole(file, limits.max_lock_bytes).decode("utf-8", "replace")
            return _yarn_lock(text, file.path, cap)
        return _package_lock(_json(file, limits.max_lock_bytes), file.path, cap)
