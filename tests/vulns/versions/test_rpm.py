"""rpm version ordering against rpm's own ``labelCompare`` (python3-rpm) on generated EVRs.

The venv cannot import the system's rpm bindings, so one system-python process compares
every pair.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from vmguard.vulns.versions.evr import split_evr
from vmguard.vulns.versions.rpm import compare_rpm, rpm_key

from .generated import rpm_pairs

SYSTEM_PYTHON = "/usr/bin/python3"


def _rpm_oracle(pairs: list[tuple[str, str]]) -> list[int]:
    code = (
        "import json, sys, rpm\n"
        "def evr(s):\n"
        "    e, c, rest = s.partition(':')\n"
        "    if not c: e, rest = '0', s\n"
        "    v, _, r = rest.rpartition('-')\n"
        "    return (e, v, r)\n"
        "pairs = json.load(sys.stdin)\n"
        "print(json.dumps([rpm.labelCompare(evr(a), evr(b)) for a, b in pairs]))\n"
    )
    out = subprocess.run(
        [SYSTEM_PYTHON, "-c", code],
        input=json.dumps(pairs),
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(out.stdout))


def test_agrees_with_rpm_label_compare_on_thousands() -> None:
    pairs = rpm_pairs(seed=4, count=6000)
    expected = _rpm_oracle(pairs)
    wrong = [(a, b, e) for (a, b), e in zip(pairs, expected, strict=True) if compare_rpm(a, b) != e]
    assert wrong == []
    assert {-1, 0, 1} <= set(expected)
    assert sum(1 for a, b in pairs if "^" in a + b) > 500
    assert sum(1 for a, b in pairs if "~" in a + b) > 500


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0~rc1-1", "1.0-1", -1),  # tilde: pre-release
        ("1.0^git1-1", "1.0-1", 1),  # caret: post-release snapshot
        ("1.0^git1-1", "1.0.1-1", -1),
        ("1:1.0-1.el9", "2.0-1.el9", 1),  # epoch wins
        ("0:3.0.7-24.el9", "3.0.7-24.el9", 0),  # epoch 0 is no epoch
        ("3.0.7-24.el9", "3.0.7-27.el9_4", -1),
        ("1.0a-1", "1.0-1", 1),
        ("1.a-1", "1.1-1", -1),  # numbers are newer than letters
        ("1.0-1", "1_0-1", 0),  # separators only separate
    ],
)
def test_hand_checked(a: str, b: str, expected: int) -> None:
    assert compare_rpm(a, b) == expected
    assert compare_rpm(b, a) == -expected


def test_split_and_key_of_odd_input() -> None:
    assert split_evr("2:1.0-3.el9") == (2, "1.0", "3.el9")
    assert split_evr("1.0") == (0, "1.0", "")
    for odd in ("", ":", "-", "~^", "é", "9" * 1000):
        rpm_key(odd)
