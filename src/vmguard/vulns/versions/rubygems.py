"""RubyGems version ordering (``Gem::Version#<=>``), as a sort key.

A version is split into runs of digits and runs of letters (``1.0.0.rc1`` -> 1, 0, 0,
"rc", 1; a ``-`` reads as ``.pre.``); the numeric part before the first letter run and the
rest each lose their trailing zeros; then segments compare in turn, a missing one as 0,
numbers numerically, text in byte order, and text below a number (so ``1.0.a`` is a
pre-release of ``1.0``). Strings that RubyGems rejects raise ``UnorderableVersion``.
"""

from __future__ import annotations

import re
from functools import cmp_to_key, lru_cache
from typing import Any

from vmguard.text import is_decimal
from vmguard.vulns.versions.errors import UnorderableVersion

_VALID = re.compile(r"^\s*[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?\s*$")
_SEGMENT = re.compile(r"[0-9]+|[a-z]+", re.IGNORECASE)
_MAX_CHARS = 256

Segment = int | str


def _strip_zeros(segments: list[Segment]) -> list[Segment]:
    while segments and segments[-1] == 0:
        segments.pop()
    return segments


def canonical_segments(version: str) -> tuple[Segment, ...]:
    """``Gem::Version#canonical_segments``; raises ``UnorderableVersion``."""
    text = version.strip()
    if len(text) > _MAX_CHARS or not _VALID.match(text):
        raise UnorderableVersion(f"not a RubyGems version: {text[:80]!r}")
    text = text.replace("-", ".pre.")
    segments: list[Segment] = [int(s) if is_decimal(s) else s for s in _SEGMENT.findall(text)]
    first_text = next((i for i, s in enumerate(segments) if isinstance(s, str)), len(segments))
    return (*_strip_zeros(segments[:first_text]), *_strip_zeros(segments[first_text:]))


def _compare(a: tuple[Segment, ...], b: tuple[Segment, ...]) -> int:
    for i in range(max(len(a), len(b))):
        left = a[i] if i < len(a) else 0
        right = b[i] if i < len(b) else 0
        if left == right:
            continue
        if isinstance(left, str) and isinstance(right, int):
            return -1
        if isinstance(left, int) and isinstance(right, str):
            return 1
        return (left > right) - (left < right)  # type: ignore[operator]
    return 0


def compare_rubygems(a: str, b: str) -> int:
    """-1, 0 or 1 as ``Gem::Version.new(a) <=> Gem::Version.new(b)``."""
    return _compare(canonical_segments(a), canonical_segments(b))


_Key = cmp_to_key(_compare)


@lru_cache(maxsize=65536)
def rubygems_key(version: str) -> Any:
    """A key ordered as RubyGems orders versions; raises ``UnorderableVersion``."""
    return _Key(canonical_segments(version))
