"""Seeded version lists for the application schemes' oracle tests (same versions each run).

Pieces are the ones that make each ecosystem's ordering subtle: qualifiers and their
aliases for Maven, pre-release letters for RubyGems, numeric against text identifiers for
SemVer; neighbours are often a small edit of each other.
"""

from __future__ import annotations

import random

MAVEN_PIECES = [
    "1", "2", "0", "10", "01", "a", "b", "m", "rc", "cr", "alpha", "beta", "milestone",
    "snapshot", "SNAPSHOT", "ga", "final", "release", "sp", "foo", "abc", "pre",
]  # fmt: skip
RUBY_PIECES = ["0", "1", "2", "10", "a", "b", "pre", "rc", "beta", "alpha"]
SEMVER_IDENTS = ["0", "1", "2", "10", "alpha", "beta", "rc", "a1", "x-y", "11"]


def maven_versions(count: int, seed: int = 20) -> list[str]:
    """Maven version strings built from qualifiers, numbers and separators."""
    rng = random.Random(seed)
    found = []
    for _ in range(count):
        pieces = [rng.choice(MAVEN_PIECES) for _ in range(rng.randint(1, 4))]
        text = pieces[0]
        for piece in pieces[1:]:
            text += rng.choice([".", "-", ""]) + piece
        found.append(text)
    return found


def ruby_versions(count: int, seed: int = 21) -> list[str]:
    """Valid RubyGems versions: digits first, then dotted digits and letters."""
    rng = random.Random(seed)
    found = []
    for _ in range(count):
        parts = [rng.choice(["0", "1", "2", "10"])]
        parts += [rng.choice(RUBY_PIECES) for _ in range(rng.randint(0, 4))]
        found.append(".".join(parts))
    return found


def semver_versions(count: int, seed: int = 22) -> list[str]:
    """SemVer 2.0 versions with pre-releases and build metadata."""
    rng = random.Random(seed)
    found = []
    for _ in range(count):
        text = ".".join(str(rng.choice([0, 1, 2, 10])) for _ in range(3))
        if rng.random() < 0.6:
            text += "-" + ".".join(rng.choice(SEMVER_IDENTS) for _ in range(rng.randint(1, 3)))
        if rng.random() < 0.2:
            text += "+build." + str(rng.randint(0, 9))
        found.append(text)
    return found
