"""apk version ordering against apk-tools' own expectations.

No apk binary or library is installable here (Debian 12 ships no apk-tools), so the
oracle is the table of comparisons from apk-tools' test suite (test/version.data), a
selection of which is kept below verbatim as (a, op, b); each is checked both ways round.
"""

from __future__ import annotations

import itertools

import pytest

from vmguard.vulns.versions.apk import apk_key, apk_tokens, compare_apk

# From apk-tools test/version.data: the result apk itself gives for each pair.
APK_TOOLS_EXPECTATIONS = """
2.34 > 0.1.0_alpha
23_foo > 4_beta
1.0 < 1.0bc
0.1.0_alpha = 0.1.0_alpha
0.1.0_alpha2 > 0.1.0_alpha
0.1.0_alpha < 2.2.39-r1
1.0.4-r3 < 1.0.4-r4
1.1 > 1.1_alpha1
1.2.1 > 1.2
1.3_alpha2 < 1.3_alpha3
0.7.0 < 0.8_beta1
3.10.18-r1 > 2.3.0b-r1
2.3.0b-r4 > 0.12.1
0.12.3 > 0.12
0.13_beta5 > 0.9.12
1.2.12.1 < 1.2.13
3.1_p16 < 3.1_p17
1.06-r6 < 006
1.2.2-r1 > 1.2.2
2.59 < 20050718-r1
3.9.8-r5 > 2.01.01_alpha10
1.0 > 0.99.3.20040818
1.39 > 1.00_beta2
4.2.52_p2-r1 < 4.2.52_p4-r2
2.18.3-r10 > 1.05-r18
20060720 > 3.0.20060720
2.5.1-r8 < 2.5.1a-r1
20040401 > 2.0.0_rc3-r1
3.0.0-r2 < 021109-r3
0.9.16-r1 < 3.9_pre20060124
1.1.7 < 6b-r7
0.10.0 < 0.10.1_rc1
2.0.2 > 1.1a
1.0-r1 > 0.15.1b
22.7-r1 < 22.7.3-r1
2.10.1 > 02.08.01b
3.81 > 1.6d
1.2.07.8 < 1.2.12.04
0.20070118 < 0.20070207_rc1
4.5_p1 < 4.5_p1-r1
0.9.8c-r1 < 0.9.8d
2.2.3-r2 < 013
1.8.5 < 1.8.5_p2
1.7 < 1.7b
2.9.11_pre20051101-r3 > 2.9.11_pre20051101
1.6.8_p12-r1 > 1.6.8_p9-r2
0.9.28-r2 < 0.9.28.1
087-r1 < 103
104-r11 > 104-r9
20040406-r1 > 2.12r-r4
2.12r-r4 < 2.12r-r5
7.0.17 < 7.0.174
0.3.4_pre20061029 < 0.4.0
1.3-r0 < 1.3.1-r0
1.3_pre1-r1 < 1.3.2
1.0_p10-r0 > 1.0_p9-r0
0.1.0_alpha_pre2 < 0.1.0_alpha
1.0.0_pre20191002222144-r0 < 1.0.0_pre20210530193627-r0
"""

_SIGN = {"<": -1, "=": 0, ">": 1}


def _cases() -> list[tuple[str, int, str]]:
    cases = []
    for line in APK_TOOLS_EXPECTATIONS.strip().splitlines():
        a, op, b = line.split()
        cases.append((a, _SIGN[op], b))
    return cases


@pytest.mark.parametrize(("a", "expected", "b"), _cases())
def test_matches_apk_tools(a: str, expected: int, b: str) -> None:
    assert compare_apk(a, b) == expected
    assert compare_apk(b, a) == -expected


def test_hand_checked_alpine_versions() -> None:
    # openssl in Alpine 3.20: fixed-before, fixed-after and equal around a real fix.
    assert compare_apk("3.3.1-r0", "3.3.2-r0") == -1
    assert compare_apk("3.3.2-r1", "3.3.2-r0") == 1
    assert compare_apk("3.3.2-r0", "3.3.2-r0") == 0
    # Leading zeros after a dot count first: 1.02 < 1.1 and 1.002 < 1.02.
    assert compare_apk("1.02", "1.1") == -1
    assert compare_apk("1.002", "1.02") == -1


def test_key_sorts_like_compare() -> None:
    versions = ["1.1_rc1", "1.1", "1.1-r1", "1.1a", "1.1_p1", "1.1.1", "0.9", "1.1_alpha"]
    ordered = sorted(versions, key=apk_key)
    assert ordered == ["0.9", "1.1_alpha", "1.1_rc1", "1.1", "1.1-r1", "1.1_p1", "1.1a", "1.1.1"]
    for low, high in itertools.pairwise(ordered):
        assert compare_apk(low, high) == -1


def test_tokens_of_odd_input_end_cleanly() -> None:
    for odd in ("", "-", "_", "1..2", "1.0-x", "1.0_zz", "é", "1" * 500):
        tokens = apk_tokens(odd)
        assert tokens[-1][0] in (-1, 6)
