"""Python package version ordering (PEP 440), as a sort key.

PyPA's ``packaging`` is the reference implementation of PEP 440 (pip itself vendors it),
so vmguard uses it rather than a second reading of the specification: epochs, pre-, post-
and dev-releases and local versions order exactly as pip orders them. A string that is
not a PEP 440 version raises ``UnorderableVersion``.
"""

from __future__ import annotations

from functools import lru_cache

from packaging.version import InvalidVersion, Version

from vmguard.vulns.versions.errors import UnorderableVersion

_MAX_CHARS = 256


@lru_cache(maxsize=65536)
def pep440_key(version: str) -> Version:
    """The PEP 440 version (ordered as pip orders it); raises ``UnorderableVersion``."""
    text = version.strip()
    if len(text) > _MAX_CHARS:
        raise UnorderableVersion("version longer than 256 characters")
    try:
        return Version(text)
    except InvalidVersion as err:
        raise UnorderableVersion(f"not a PEP 440 version: {text[:80]!r}") from err
