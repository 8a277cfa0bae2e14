"""Python distributions: ``*.dist-info/METADATA``, ``*.egg-info/PKG-INFO`` and distutils'
single-file ``*.egg-info``.

Only the header block (RFC 822 style, up to the first blank line) is read for ``Name`` and
``Version``; the description below it is never parsed.
"""

from __future__ import annotations

from vmguard.guest.apps.interface import (
    AppLimits,
    AppParseError,
    Candidate,
    app_package,
    read_whole,
)
from vmguard.guest.facts import InstalledPackage, PackageManager
from vmguard.problems import Problem


def _headers(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        key, sep, value = line.partition(":")
        if sep and not key.startswith((" ", "\t")) and key not in found:
            found[key.strip().lower()] = value.strip()
    return found


class PythonAnalyzer:
    """Installed Python distributions (pip, setuptools, distutils, Debian's python3-*)."""

    manager: PackageManager = "pypi"

    def wants(self, path: str, size: int, mode: int) -> bool:
        """METADATA in a .dist-info, PKG-INFO in an .egg-info, or an .egg-info file."""
        if path.endswith("/METADATA"):
            return path[: -len("/METADATA")].endswith(".dist-info")
        if path.endswith("/PKG-INFO"):
            return path[: -len("/PKG-INFO")].endswith(".egg-info")
        return path.endswith(".egg-info")

    def analyze(
        self, file: Candidate, limits: AppLimits, problems: list[Problem]
    ) -> list[InstalledPackage]:
        """The one distribution the metadata file describes."""
        headers = _headers(read_whole(file, limits.max_metadata_bytes).decode("utf-8", "replace"))
        package = app_package("pypi", headers.get("name"), headers.get("version"), file.path)
        if package is None:
            raise AppParseError("no Name and Version in the metadata headers")
        return [package]
