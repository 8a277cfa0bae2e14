"""NuGet package version ordering, as a sort key.

NuGet versions are SemVer 2.0 with up to four numbers (``1.2.3.4``, missing ones are 0)
and release labels compared case-insensitively (numeric labels numerically, below text
labels); a version with labels is older than the same numbers without; metadata after
``+`` is ignored. Anything else raises ``UnorderableVersion``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from vmguard.vulns.versions.errors import UnorderableVersion
from vmguard.vulns.versions.semver import prerelease_key

NugetKey = tuple[tuple[int, int, int, int], tuple[object, ...]]

_NUGET = re.compile(
    r"^[0-9]+(?:\.[0-9]+){0,3}(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]*)?$"
)
_MAX_CHARS = 256


@lru_cache(maxsize=65536)
def nuget_key(version: str) -> NugetKey:
    """A key ordered as NuGet orders versions; raises ``UnorderableVersion``."""
    text = version.strip()
    found = _NUGET.match(text) if len(text) <= _MAX_CHARS else None
    if found is None:
        raise UnorderableVersion(f"not a NuGet version: {text[:80]!r}")
    numbers = [int(n) for n in text.split("-", 1)[0].split("+", 1)[0].split(".")]
    padded = (*numbers, 0, 0, 0)[:4]
    label = found.group(1)
    return (padded[0], padded[1], padded[2], padded[3]), prerelease_key(
        label.lower() if label else None
    )
