"""KSM, CPU vulnerabilities, SMT and IOMMU from /sys files worded as the kernel words them."""

from __future__ import annotations

from pathlib import Path

from vmguard.findings import Severity

from .findings import by_rule, evidences


def test_each_side_channel_fires(weak: Path) -> None:
    assert evidences(weak, "host.ksm") == [
        "ksm/run = 1, pages_sharing = 81234; domains without nosharepages: web"
    ]
    assert evidences(weak, "host.cpu-vulnerable") == ["spec_store_bypass: Vulnerable"]
    smt = by_rule(weak, "host.smt")
    assert len(smt) == 1 and smt[0].severity is Severity.HIGH and "l1tf" in smt[0].evidence
    assert evidences(weak, "host.iommu-off-passthrough") == [
        "no IOMMU groups; passed through: web (1 hostdev), vfio-pci 0000:03:00.0"
    ]


def test_mitigated_host_has_none(hardened: Path) -> None:
    for rule in ("host.ksm", "host.cpu-vulnerable", "host.smt", "host.iommu-off-passthrough"):
        assert by_rule(hardened, rule) == []
