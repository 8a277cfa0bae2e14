"""CVSS base scores against the ``cvss`` library (RedHatProductSecurity) as oracle."""

from __future__ import annotations

import itertools
import random

import cvss as cvss_oracle
import pytest

from vmguard.findings import Severity
from vmguard.vulns.cvss import base_score, severity_of_score


def _v3_vectors(minor: str) -> list[str]:
    values = {
        "AV": "NALP",
        "AC": "LH",
        "PR": "NLH",
        "UI": "NR",
        "S": "UC",
        "C": "HLN",
        "I": "HLN",
        "A": "HLN",
    }
    keys = list(values)
    return [
        f"CVSS:3.{minor}/" + "/".join(f"{k}:{v}" for k, v in zip(keys, combo, strict=True))
        for combo in itertools.product(*(values[k] for k in keys))
    ]


@pytest.mark.parametrize("minor", ["0", "1"])
def test_every_v3_base_vector_scores_like_the_oracle(minor: str) -> None:
    vectors = _v3_vectors(minor)
    assert len(vectors) == 2592
    wrong = [
        (v, base_score(v), cvss_oracle.CVSS3(v).scores()[0])
        for v in vectors
        if base_score(v) != float(cvss_oracle.CVSS3(v).scores()[0])
    ]
    assert wrong == []


def test_every_v2_base_vector_scores_like_the_oracle() -> None:
    values = {"AV": "LAN", "AC": "HML", "Au": "MSN", "C": "NPC", "I": "NPC", "A": "NPC"}
    keys = list(values)
    vectors = [
        "/".join(f"{k}:{v}" for k, v in zip(keys, combo, strict=True))
        for combo in itertools.product(*(values[k] for k in keys))
    ]
    wrong = [
        (v, base_score(v), cvss_oracle.CVSS2(v).scores()[0])
        for v in vectors
        if base_score(v) != float(cvss_oracle.CVSS2(v).scores()[0])
    ]
    assert wrong == []


def test_known_scores() -> None:
    # Log4Shell (CVE-2021-44228) and Heartbleed (CVE-2014-0160) as NVD scores them.
    assert base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H") == 10.0
    assert base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N") == 7.5
    assert base_score("AV:N/AC:L/Au:N/C:P/I:N/A:N") == 5.0


def test_refuses_what_it_cannot_score() -> None:
    rng = random.Random(3)
    junk = [
        "",
        "CVSS:3.1",
        "CVSS:3.1/AV:N",
        "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        "CVSS:3.1/" + "A" * 5000,
        "".join(rng.choice("CVS:/0123ANLHUPRIC") for _ in range(80)),
    ]
    for vector in junk:
        assert base_score(vector) is None


def test_bands() -> None:
    assert severity_of_score(0.0) is Severity.INFO
    assert severity_of_score(3.9) is Severity.LOW
    assert severity_of_score(4.0) is Severity.MEDIUM
    assert severity_of_score(8.9) is Severity.HIGH
    assert severity_of_score(9.0) is Severity.CRITICAL
    assert severity_of_score(10.0, v2=True) is Severity.HIGH
