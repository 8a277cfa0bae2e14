"""Maven version ordering (``ComparableVersion``, Maven 3), as a sort key.

A version is split at ``.``, at ``-`` (which opens a nested list) and between digits and
letters; numbers compare numerically, qualifiers by rank: ``alpha`` (``a`` before a digit)
< ``beta`` (``b``) < ``milestone`` (``m``) < ``rc`` = ``cr`` < ``snapshot`` < release
(``""``, ``ga``, ``final``, ``release``) < ``sp``, then unknown qualifiers in text order.
A number sorts above a qualifier and above a list; trailing zeros and release qualifiers
are dropped from each list (``1.0 == 1 == 1-ga``). Any string orders; nothing raises.
"""

from __future__ import annotations

from functools import cmp_to_key, lru_cache
from typing import Any

_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_SHORT = {"a": "alpha", "b": "beta", "m": "milestone"}
_RELEASE = str(_QUALIFIERS.index(""))
_MAX_CHARS = 256

# An item is an int, a str (an already-aliased qualifier) or a list of items.
Item = Any


def _qualifier_rank(value: str) -> str:
    """Maven compares qualifiers by this string: the known rank, else "7-qualifier"."""
    if value in _QUALIFIERS:
        return str(_QUALIFIERS.index(value))
    return f"{len(_QUALIFIERS)}-{value}"


def _string_item(value: str, followed_by_digit: bool) -> str:
    if followed_by_digit and value in _SHORT:
        value = _SHORT[value]
    return _ALIASES.get(value, value)


def _parse_item(is_digit: bool, text: str, followed_by_digit: bool = False) -> Item:
    return int(text) if is_digit else _string_item(text, followed_by_digit)


def _is_null(item: Item) -> bool:
    if isinstance(item, int):
        return item == 0
    if isinstance(item, str):
        return item == ""
    return not item


def _normalize(items: list[Item]) -> None:
    """Drop trailing null items, stopping at the first non-null item that is not a list."""
    for i in range(len(items) - 1, -1, -1):
        if _is_null(items[i]):
            del items[i]
        elif not isinstance(items[i], list):
            break


def parse_maven(version: str) -> list[Item]:
    """The item tree of a version, as ``ComparableVersion.parseVersion`` builds it."""
    text = version.strip().lower()[:_MAX_CHARS]
    root: list[Item] = []
    current = root
    stack = [root]
    is_digit = False
    start = 0
    for i, ch in enumerate(text):
        if ch in ".-":
            current.append(0 if i == start else _parse_item(is_digit, text[start:i]))
            start = i + 1
            if ch == "-":
                nested: list[Item] = []
                current.append(nested)
                current = nested
                stack.append(nested)
        elif ch.isascii() and ch.isdigit():
            if not is_digit and i > start:
                if current:  # Maven 3.8+: "1.a1" reads as "1-a1"
                    nested = []
                    current.append(nested)
                    current = nested
                    stack.append(nested)
                current.append(_string_item(text[start:i], True))
                start = i
                nested = []
                current.append(nested)
                current = nested
                stack.append(nested)
            is_digit = True
        else:
            if is_digit and i > start:
                current.append(_parse_item(True, text[start:i]))
                start = i
                nested = []
                current.append(nested)
                current = nested
                stack.append(nested)
            is_digit = False
    if len(text) > start:
        if not is_digit and current:
            # Maven 3.8+: a trailing ".X" reads as "-X" for any qualifier X (1.foo == 1-foo).
            nested = []
            current.append(nested)
            current = nested
            stack.append(nested)
        current.append(_parse_item(is_digit, text[start:]))
    for items in reversed(stack):
        _normalize(items)
    return root


def _compare(a: Item, b: Item) -> int:
    """``a.compareTo(b)``; ``b`` may be None (past the end of the other list)."""
    if isinstance(a, int):
        if b is None:
            return 0 if a == 0 else 1
        if isinstance(b, int):
            return (a > b) - (a < b)
        return 1  # a number is newer than a qualifier or a list
    if isinstance(a, str):
        left = _qualifier_rank(a)
        if b is None:
            return (left > _RELEASE) - (left < _RELEASE)
        if isinstance(b, str):
            right = _qualifier_rank(b)
            return (left > right) - (left < right)
        return -1  # a qualifier is older than a number or a list
    if b is None:
        # Maven 3.8+ (MNG-6964): every item, not only the first, is compared with nothing.
        for item in a:
            result = _compare(item, None)
            if result:
                return result
        return 0
    if isinstance(b, int):
        return -1
    if isinstance(b, str):
        return 1
    for i in range(max(len(a), len(b))):
        left_item = a[i] if i < len(a) else None
        right_item = b[i] if i < len(b) else None
        if left_item is None:
            result = 0 if right_item is None else -_compare(right_item, None)
        else:
            result = _compare(left_item, right_item)
        if result:
            return result
    return 0


def compare_maven(a: str, b: str) -> int:
    """-1, 0 or 1 as Maven's ``ComparableVersion`` orders ``a`` and ``b``."""
    return _compare(parse_maven(a), parse_maven(b))


_Key = cmp_to_key(_compare)


@lru_cache(maxsize=65536)
def maven_key(version: str) -> Any:
    """A key ordered as Maven orders versions."""
    return _Key(parse_maven(version))
