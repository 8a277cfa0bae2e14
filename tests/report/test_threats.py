"""Threat class explanations: one per class, in the order and with the values of the design
table (tests/data/threat-classes.md, copied from DESIGN.md)."""

from __future__ import annotations

import re
from pathlib import Path

from vmguard.findings import Threat
from vmguard.report.threats import THREATS, threat_info, threat_order

DESIGN = Path(__file__).resolve().parents[1] / "data/threat-classes.md"


def test_every_class_is_explained_once_in_design_order() -> None:
    assert [info.threat for info in THREATS] == list(Threat)
    table = re.findall(r"^\| `([a-z-]+)` \| .*\((V\.[A-H])\) \|$", DESIGN.read_text(), re.M)
    assert [(t.threat.value, t.section) for t in THREATS if t.section] == table
    for threat in Threat:
        info = threat_info(threat)
        assert info.label and info.summary.endswith(".") and info.examples.endswith(".")
        assert THREATS[threat_order(threat)] is info
