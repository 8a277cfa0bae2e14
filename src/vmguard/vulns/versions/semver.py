"""SemVer 2.0.0 precedence (npm, crates.io, Go modules), as a sort key.

``MAJOR.MINOR.PATCH[-pre.release][+build]``: the three numbers compare numerically; a
version with a pre-release is older than the same version without one; pre-release
identifiers compare left to right, numeric ones numerically and below alphanumeric ones,
which compare in ASCII order, and a shorter list of equal leading identifiers is older.
Build metadata is ignored. A leading ``v`` or ``=`` (npm, Go) and missing minor or patch
numbers (``1.2``) are accepted, as npm's loose parsing does. Anything else raises
``UnorderableVersion``: a string that is not a version is never guessed into an order.
"""

from __future__ import annotations

import re
from functools import lru_cache

from vmguard.vulns.versions.errors import UnorderableVersion

SemverKey = tuple[int, int, int, tuple[object, ...]]

_SEMVER = re.compile(
    r"^[=v]?\s*(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?(?:\.(0|[1-9][0-9]*))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]*)?$"
)
_MAX_CHARS = 256


def prerelease_key(pre: str | None) -> tuple[object, ...]:
    """The key of a dot-separated pre-release; ``(1,)`` (newest) when there is none."""
    if not pre:
        return (1,)
    parts: list[tuple[int, int, str]] = []
    for ident in pre.split("."):
        if ident.isascii() and ident.isdigit():
            parts.append((0, int(ident), ""))
        else:
            parts.append((1, 0, ident))
    return (0, tuple(parts))


@lru_cache(maxsize=65536)
def semver_key(version: str) -> SemverKey:
    """A key ordered by SemVer 2.0.0 precedence; raises ``UnorderableVersion``."""
    text = version.strip()
    found = _SEMVER.match(text) if len(text) <= _MAX_CHARS else None
    if found is None:
        raise UnorderableVersion(f"not a semantic version: {text[:80]!r}")
    major, minor, patch, pre = found.groups()
    return int(major), int(minor or 0), int(patch or 0), prerelease_key(pre)


def go_key(version: str) -> SemverKey:
    """Go module versions: SemVer with a ``v`` prefix; ``+incompatible`` is build metadata."""
    return semver_key(version.strip().removeprefix("go"))
