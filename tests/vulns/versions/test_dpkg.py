"""dpkg version ordering against dpkg itself and python-apt, on generated pairs.

``dpkg --compare-versions`` is the reference: a few hundred pairs go through it in one
shell process. Thousands more go through python-apt's ``apt_pkg.version_compare`` (APT's
own implementation of the same Debian policy) in one system-python process, since the
project's venv cannot import the system's apt bindings.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from vmguard.vulns.versions.dpkg import compare_dpkg, dpkg_key
from vmguard.vulns.versions.evr import split_evr as split_version

from .generated import dpkg_pairs

SYSTEM_PYTHON = "/usr/bin/python3"


def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


def _dpkg_oracle(pairs: list[tuple[str, str]], tmp_path: Path) -> list[int]:
    """dpkg's answer for each pair, from one bash process running dpkg per pair."""
    listing = tmp_path / "pairs.txt"
    listing.write_text("".join(f"{a} {b}\n" for a, b in pairs))
    script = (
        'while read -r a b; do if dpkg --compare-versions "$a" lt "$b"; then echo -1; '
        'elif dpkg --compare-versions "$a" eq "$b"; then echo 0; else echo 1; fi; '
        f"done < {listing}"
    )
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    return [int(line) for line in out.stdout.split()]


def _apt_oracle(pairs: list[tuple[str, str]]) -> list[int]:
    code = (
        "import json, sys, apt_pkg\n"
        "apt_pkg.init_system()\n"
        "pairs = json.load(sys.stdin)\n"
        "print(json.dumps([apt_pkg.version_compare(a, b) for a, b in pairs]))\n"
    )
    out = subprocess.run(
        [SYSTEM_PYTHON, "-c", code],
        input=json.dumps(pairs),
        capture_output=True,
        text=True,
        check=True,
    )
    return [_sign(n) for n in json.loads(out.stdout)]


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is the oracle")
def test_agrees_with_dpkg_compare_versions(tmp_path: Path) -> None:
    pairs = dpkg_pairs(seed=6, count=400)
    expected = _dpkg_oracle(pairs, tmp_path)
    assert len(expected) == len(pairs)
    results = zip(pairs, expected, strict=True)
    wrong = [(a, b, e) for (a, b), e in results if compare_dpkg(a, b) != e]
    assert wrong == []
    # The generator must exercise every outcome, or the test could not fail usefully.
    assert {-1, 0, 1} <= set(expected)


def test_agrees_with_python_apt_on_thousands(tmp_path: Path) -> None:
    pairs = dpkg_pairs(seed=1994, count=6000)
    expected = _apt_oracle(pairs)
    results = zip(pairs, expected, strict=True)
    wrong = [(a, b, e) for (a, b), e in results if compare_dpkg(a, b) != e]
    assert wrong == []
    assert sum(1 for e in expected if e == 0) > 20
    assert sum(1 for a, b in pairs if "~" in a + b) > 1000


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0~rc1", "1.0", -1),  # tilde sorts before the end
        ("1.0", "1.0+really0.9", -1),
        ("1:0.1", "2.0", 1),  # epoch wins
        ("0:1.0", "1.0", 0),  # epoch 0 is no epoch
        ("1.0-1", "1.0-1~deb12u1", 1),
        ("3.0.11-1~deb12u2", "3.0.11-1~deb12u1", 1),
        ("1.0a", "1.0+", -1),  # letters before other characters
        ("1.00", "1.0", 0),  # digit runs compare as numbers
        ("1.0", "1.0-0", 0),  # absent revision equals revision 0
        ("2.36-9+deb12u4", "2.36-9+deb12u10", -1),
    ],
)
def test_hand_checked(a: str, b: str, expected: int) -> None:
    assert compare_dpkg(a, b) == expected
    assert compare_dpkg(b, a) == -expected


def test_split_and_key_of_odd_input() -> None:
    assert split_version("1:2.0-3-4") == (1, "2.0-3", "4")
    assert split_version("x:1.0") == (0, "x:1.0", "")
    for odd in ("", ":", "-", "~", "é", "1" * 1000):
        dpkg_key(odd)
