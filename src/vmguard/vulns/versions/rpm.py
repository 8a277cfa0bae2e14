"""RPM version ordering (``rpmvercmp`` and EVR comparison), as a sort key.

rpmvercmp splits a string into alphanumeric segments, skipping every other character;
``~`` sorts before everything, including the end of the string; ``^`` sorts after the end
but before any further segment; a numeric segment is newer than an alphabetic one; numeric
segments compare as integers, alphabetic ones as ASCII strings. A full EVR compares the
epoch (missing means 0), then version, then release. Keys are built once per string so that
matching many advisories is tuple comparison. Never raises on odd input.
"""

from __future__ import annotations

from functools import lru_cache

from vmguard.vulns.versions.evr import split_evr

RpmKey = tuple[int, tuple[tuple[int, int | str], ...], tuple[tuple[int, int | str], ...]]

# Element ranks, in rpmvercmp's order.
_TILDE = (0, 0)
_END = (2, 0)
_CARET = (3, 0)
_ALPHA = 4
_DIGIT = 5


def _is_alpha(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def _is_digit(ch: str) -> bool:
    return ch.isascii() and ch.isdigit()


@lru_cache(maxsize=65536)
def rpmvercmp_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Key of one version or release string under rpmvercmp, ending with an end marker."""
    out: list[tuple[int, int | str]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "~":
            out.append(_TILDE)
            i += 1
        elif ch == "^":
            out.append(_CARET)
            i += 1
        elif _is_digit(ch):
            start = i
            while i < n and _is_digit(text[i]):
                i += 1
            out.append((_DIGIT, int(text[start:i])))
        elif _is_alpha(ch):
            start = i
            while i < n and _is_alpha(text[i]):
                i += 1
            out.append((_ALPHA, text[start:i]))
        else:
            i += 1  # separators only split segments
    out.append(_END)
    return tuple(out)


@lru_cache(maxsize=65536)
def rpm_key(evr: str) -> RpmKey:
    """A key whose ordering is rpm's EVR ordering (``rpm.labelCompare``)."""
    epoch, version, release = split_evr(evr.strip())
    return epoch, rpmvercmp_key(version), rpmvercmp_key(release)


def compare_rpm(a: str, b: str) -> int:
    """-1, 0 or 1 as rpm orders the EVR strings ``a`` and ``b``."""
    ka, kb = rpm_key(a), rpm_key(b)
    return (ka > kb) - (ka < kb)
