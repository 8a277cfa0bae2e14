"""Alpine package version ordering (apk-tools), as a sort key.

Alpine versions follow Gentoo's grammar: ``1.2.3`` digit components, one optional letter,
``_alpha|_beta|_pre|_rc`` pre-release suffixes (older than no suffix) and
``_cvs|_svn|_git|_hg|_p`` post-release suffixes, each with an optional number, then
``-rN``. A component after a dot that starts with ``0`` compares by its count of leading
zeros first (``1.02 < 1.1``, ``1.002 < 1.02``). When two versions agree up to where one
of them goes on, the longer one is newer unless what follows is a pre-release suffix.
A string outside the grammar is still ordered (an invalid tail sorts as apk-tools sorts
it); this module never raises on odd input.
"""

from __future__ import annotations

from functools import cmp_to_key, lru_cache
from typing import Any

# Token types, in apk-tools' order (the order matters for the "longer is newer" rule).
INVALID, DIGIT_OR_ZERO, DIGIT, LETTER, SUFFIX, SUFFIX_NO, REVISION_NO, END = range(-1, 7)

_PRE_SUFFIXES = ("alpha", "beta", "pre", "rc")
_POST_SUFFIXES = ("cvs", "svn", "git", "hg", "p")
_NUMBERED = (DIGIT_OR_ZERO, DIGIT, SUFFIX_NO, REVISION_NO)
# A token type may go backwards only in these (new, previous) steps: "1.2", "_rc1_p", "a1".
_BACKWARD_OK = {(DIGIT_OR_ZERO, DIGIT), (SUFFIX, SUFFIX_NO), (DIGIT, LETTER)}

Token = tuple[int, int]
"""(type, value) of one version token."""


def _digits_end(text: str, i: int) -> int:
    while i < len(text) and text[i].isascii() and text[i].isdigit():
        i += 1
    return i


def _next_type(text: str, i: int, current: int) -> tuple[int, int]:
    """Type of the token starting at ``i`` after a ``current`` token, and where it starts."""
    ch = text[i]
    kind: int
    if current in (DIGIT, DIGIT_OR_ZERO) and "a" <= ch <= "z":
        kind = LETTER
    elif current == LETTER and ch.isascii() and ch.isdigit():
        kind = DIGIT
    elif current == SUFFIX and ch.isascii() and ch.isdigit():
        kind = SUFFIX_NO
    else:
        if ch == ".":
            kind = DIGIT_OR_ZERO
        elif ch == "_":
            kind = SUFFIX
        elif ch == "-" and text[i + 1 : i + 2] == "r":
            kind = REVISION_NO
            i += 1
        else:
            kind = INVALID
        i += 1
    if kind < current and (kind, current) not in _BACKWARD_OK:
        kind = INVALID
    return kind, i


def _suffix_value(text: str, i: int) -> tuple[int, int] | None:
    for index, name in enumerate(_PRE_SUFFIXES):
        if text.startswith(name, i):
            return index - len(_PRE_SUFFIXES), i + len(name)
    for index, name in enumerate(_POST_SUFFIXES):
        if text.startswith(name, i):
            return index, i + len(name)
    return None


@lru_cache(maxsize=65536)
def apk_tokens(version: str) -> tuple[Token, ...]:
    """The version's tokens, ending with an END or INVALID token."""
    if not version:
        return ((DIGIT, 0), (END, 0))
    tokens: list[Token] = []
    kind, i = DIGIT, 0
    while kind not in (END, INVALID):
        forced: int | None = None
        if kind == DIGIT_OR_ZERO and version[i] == "0":
            end = i
            while end < len(version) and version[end] == "0":
                end += 1
            value, forced = i - end, DIGIT
        elif kind in _NUMBERED:
            end = _digits_end(version, i)
            value = int(version[i:end]) if end > i else 0
        elif kind == LETTER:
            value, end = ord(version[i]), i + 1
        else:  # SUFFIX
            found = _suffix_value(version, i)
            if found is None:
                tokens.append((SUFFIX, -1))
                kind = INVALID
                break
            value, end = found
        tokens.append((kind, value))
        if end >= len(version):
            kind, i = END, end
        elif forced is not None:
            kind, i = forced, end
        else:
            kind, i = _next_type(version, end, kind)
    tokens.append((kind, 0))
    return tuple(tokens)


def compare_apk(a: str, b: str) -> int:
    """-1, 0 or 1 as apk-tools orders the versions ``a`` and ``b``."""
    ta, tb = apk_tokens(a.strip()), apk_tokens(b.strip())
    for (kind_a, value_a), (kind_b, value_b) in zip(ta, tb, strict=False):
        if kind_a != kind_b:
            # Equal so far; one goes on differently. A pre-release suffix (or an unknown
            # one) makes its side older; otherwise the side with the later type is older.
            if kind_a == SUFFIX and value_a < 0:
                return -1
            if kind_b == SUFFIX and value_b < 0:
                return 1
            return -1 if kind_a > kind_b else 1
        if kind_a in (END, INVALID):
            return 0
        if value_a != value_b:
            return -1 if value_a < value_b else 1
    return 0


apk_key: Any = lru_cache(maxsize=65536)(cmp_to_key(compare_apk))
"""A sort key with apk's ordering (a comparison wrapper: apk's order is not a tuple order)."""
