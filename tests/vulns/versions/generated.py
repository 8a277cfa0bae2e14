"""Generated version pairs for the oracle tests: seeded, so every run checks the same pairs.

Versions are built from the pieces that make orderings subtle (epochs, ``~``, ``^``,
``+``, letters against digits, leading zeros, missing and extra components), and pairs are
biased towards near-misses: one version is often a small edit of the other.
"""

from __future__ import annotations

import random

_DPKG_UPSTREAM = ["0", "1", "01", "2", "10", "9", "a", "b", "z", "A", "~", "~~", "+", ".", "-"]
_DPKG_REVISION = ["0", "1", "2", "10", "a", "~", "+", ".", "deb12u1", "ubuntu1", "~bpo"]
_RPM_PIECES = ["0", "1", "01", "2", "10", "a", "b", "Z", "~", "^", ".", "_", "+", "rc", "el9"]


def _word(rng: random.Random, pieces: list[str], length: int, first_digit: bool) -> str:
    text = rng.choice(["0", "1", "2", "10", "007"]) if first_digit else ""
    for _ in range(length):
        text += rng.choice(pieces)
    return text


def _edit(rng: random.Random, version: str, pieces: list[str]) -> str:
    """A small change of ``version``: append, drop the tail, or swap one piece."""
    choice = rng.randrange(3)
    if choice == 0:
        return version + rng.choice(pieces)
    if choice == 1 and len(version) > 1:
        return version[: rng.randrange(1, len(version))]
    i = rng.randrange(len(version))
    return version[:i] + rng.choice(pieces) + version[i + 1 :]


def dpkg_version(rng: random.Random) -> str:
    """A syntactically valid Debian version (upstream starts with a digit)."""
    epoch = rng.choice(["", "", "", "1:", "2:", "0:"])
    upstream = _word(rng, _DPKG_UPSTREAM[:-1], rng.randrange(0, 5), True)
    upstream = upstream.rstrip("-")
    if rng.random() < 0.7:
        revision = _word(rng, _DPKG_REVISION, rng.randrange(1, 4), False)
        revision = revision.replace("-", "") or "1"
        return f"{epoch}{upstream}-{revision}"
    return f"{epoch}{upstream.replace('-', '')}"


def dpkg_pairs(seed: int, count: int) -> list[tuple[str, str]]:
    """``count`` pairs of valid Debian versions, many of them near-misses."""
    rng = random.Random(seed)
    pairs = []
    while len(pairs) < count:
        a = dpkg_version(rng)
        b = dpkg_version(rng) if rng.random() < 0.3 else _edit(rng, a, _DPKG_UPSTREAM[:-1])
        if _valid_dpkg(b):
            pairs.append((a, b))
    return pairs


def _valid_dpkg(version: str) -> bool:
    """What dpkg accepts without complaint (so the oracle compares rather than errors)."""
    epoch, colon, rest = version.partition(":")
    if not colon:
        rest, epoch = version, "0"
    if not epoch.isdigit() or ":" in rest or not rest:
        return False
    upstream, dash, revision = rest.rpartition("-")
    if not dash:
        upstream, revision = rest, ""
    if not upstream or not upstream[0].isdigit():
        return False
    allowed = set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+~-")
    return (
        set(upstream) <= allowed
        and set(revision) <= allowed - {"-"}
        and (bool(revision) or not dash)
    )


def rpm_pairs(seed: int, count: int) -> list[tuple[str, str]]:
    """``count`` pairs of rpm EVR strings ``[epoch:]version-release``."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        a = _rpm_evr(rng)
        if rng.random() < 0.3:
            b = _rpm_evr(rng)
        else:
            epoch, _, rest = a.rpartition(":")
            version, _, release = rest.partition("-")
            if rng.random() < 0.5:
                version = _edit(rng, version, _RPM_PIECES).replace("-", "") or "1"
            else:
                release = _edit(rng, release, _RPM_PIECES).replace("-", "") or "1"
            b = f"{epoch}:{version}-{release}" if epoch else f"{version}-{release}"
        pairs.append((a, b))
    return pairs


def _rpm_evr(rng: random.Random) -> str:
    epoch = rng.choice(["", "", "0:", "1:", "2:"])
    version = _word(rng, _RPM_PIECES, rng.randrange(0, 5), True)
    release = _word(rng, _RPM_PIECES, rng.randrange(0, 3), True)
    return f"{epoch}{version}-{release}"
