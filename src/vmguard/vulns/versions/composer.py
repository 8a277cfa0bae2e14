"""Composer (Packagist) version ordering, as a sort key.

Composer normalizes a version to four numbers and a stability suffix (``v1.2`` ->
``1.2.0.0``, ``1.2.3-beta2`` -> ``1.2.3.0-beta2``) and then orders with PHP's
``version_compare``: parts are split at ``.``, ``-``, ``_``, ``+`` and between digits and
letters; numbers compare numerically; words by rank ``dev`` < ``alpha``/``a`` <
``beta``/``b`` < ``RC``/``rc`` < a number < ``pl``/``p`` (unknown words lowest); a version
that goes on past the other is newer when the extra part is a number or ``p``, older when
it is a pre-release word. Branch versions (``dev-main``, ``2.x-dev``) raise ``UnorderableVersion``.
"""

from __future__ import annotations

import re
from functools import cmp_to_key, lru_cache
from typing import Any

from vmguard.text import is_decimal
from vmguard.vulns.versions.errors import UnorderableVersion

_PARTS = re.compile(r"[0-9]+|[A-Za-z]+")
_NUMERIC_HEAD = re.compile(r"^([0-9]+(?:\.[0-9]+)*)(.*)$")
_SPECIAL = {"dev": 0, "alpha": 1, "a": 1, "beta": 2, "b": 2, "RC": 3, "rc": 3, "#": 4}
_PATCH = ("pl", "p")
_MAX_CHARS = 256
_BRANCH = re.compile(r"\.[xX*](?:\.|-|$)")

Part = int | str


def _form_rank(form: str) -> int:
    # PHP matches the special forms by prefix (strncmp with the form's length).
    if form == "#":
        return 4
    for name in ("dev", "alpha", "beta", "RC", "rc", "pl", "p", "a", "b"):
        if form.startswith(name):
            return 5 if name in _PATCH else _SPECIAL[name]
    return -6


def composer_parts(version: str) -> tuple[Part, ...]:
    """The normalized parts of a Composer version; raises ``UnorderableVersion``."""
    text = version.strip()
    if len(text) > _MAX_CHARS or text.lower().startswith("dev-") or _BRANCH.search(text):
        raise UnorderableVersion(f"not a released Composer version: {text[:80]!r}")
    text = text[1:] if text[:1] in "vV" else text
    head = _NUMERIC_HEAD.match(text)
    if head is None:
        raise UnorderableVersion(f"not a Composer version: {text[:80]!r}")
    numbers = [int(n) for n in head.group(1).split(".")]
    if len(numbers) > 4:
        raise UnorderableVersion(f"more than four numbers: {text[:80]!r}")
    numbers += [0] * (4 - len(numbers))
    rest: list[Part] = [int(p) if is_decimal(p) else p for p in _PARTS.findall(head.group(2))]
    return (*numbers, *rest)


def _compare(a: tuple[Part, ...], b: tuple[Part, ...]) -> int:
    for left, right in zip(a, b, strict=False):
        if isinstance(left, int) and isinstance(right, int):
            result = (left > right) - (left < right)
        else:
            lr = _form_rank("#" if isinstance(left, int) else left)
            rr = _form_rank("#" if isinstance(right, int) else right)
            result = (lr > rr) - (lr < rr)
        if result:
            return result
    if len(a) == len(b):
        return 0
    longer, sign = (a, 1) if len(a) > len(b) else (b, -1)
    extra = longer[min(len(a), len(b))]
    if isinstance(extra, int):
        return sign
    rank = _form_rank(extra)
    return sign * ((rank > 4) - (rank < 4))


def compare_composer(a: str, b: str) -> int:
    """-1, 0 or 1 as Composer orders two released versions."""
    return _compare(composer_parts(a), composer_parts(b))


_Key = cmp_to_key(_compare)


@lru_cache(maxsize=65536)
def composer_key(version: str) -> Any:
    """A key ordered as Composer orders versions; raises ``UnorderableVersion``."""
    return _Key(composer_parts(version))
