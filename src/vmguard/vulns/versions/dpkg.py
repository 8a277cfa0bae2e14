"""Debian package version ordering (dpkg's ``verrevcmp``), as a sort key.

``[epoch:]upstream[-revision]``: epochs compare as integers; upstream and revision are
compared in alternating non-digit and digit runs, where ``~`` sorts before everything,
even the end of the string, letters before other characters, and digit runs numerically.
The key is built once per version so that matching many advisories is tuple comparison.
Never raises on odd input: dpkg itself accepts what the package database holds, so a
malformed string gets a key from the same rules rather than an error.
"""

from __future__ import annotations

from functools import lru_cache

from vmguard.vulns.versions.evr import split_evr as split_version

DpkgKey = tuple[int, tuple[object, ...], tuple[object, ...]]

_END = (0,)
"""The key of an empty non-digit run: only the end-of-run marker."""
_PAD = (_END, 0)
"""A run pair that equals "nothing left" (empty non-digit run, digit run 0)."""


def _char_order(ch: str) -> int:
    if ch == "~":
        return -1
    if ch.isascii() and ch.isalpha():
        return ord(ch)
    return ord(ch) + 256


def _part_key(text: str) -> tuple[object, ...]:
    """Key of an upstream version or revision: pairs of (non-digit run, digit run)."""
    pairs: list[tuple[tuple[int, ...], int]] = []
    i, n = 0, len(text)
    while i < n or not pairs:
        start = i
        while i < n and not (text[i].isascii() and text[i].isdigit()):
            i += 1
        letters = (*(_char_order(c) for c in text[start:i]), 0)
        start = i
        while i < n and text[i].isascii() and text[i].isdigit():
            i += 1
        pairs.append((letters, int(text[start:i]) if i > start else 0))
    # Runs past the end compare as "empty, 0": drop trailing ones that equal that (the
    # first pair always stays), then end with one such pad so that a longer version is
    # judged by its first extra run against "nothing" (lower only when it starts with ~).
    while len(pairs) > 1 and pairs[-1] == _PAD:
        pairs.pop()
    return (*pairs, _PAD)


@lru_cache(maxsize=65536)
def dpkg_key(version: str) -> DpkgKey:
    """A key whose ordering is dpkg's: ``dpkg_key(a) < dpkg_key(b)`` iff ``a lt b``."""
    epoch, upstream, revision = split_version(version.strip())
    return epoch, _part_key(upstream), _part_key(revision)


def compare_dpkg(a: str, b: str) -> int:
    """-1, 0 or 1 as ``dpkg --compare-versions`` orders ``a`` and ``b``."""
    ka, kb = dpkg_key(a), dpkg_key(b)
    return (ka > kb) - (ka < kb)
