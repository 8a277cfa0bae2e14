"""Per platform: an insecure definition hits every survey threat class; a hardened one
has nothing at medium or above."""

from __future__ import annotations

import pytest

from vmguard.findings import Severity, Threat
from vmguard.vmconfig.audit import AuditOptions, audit_paths

from .corpus import FIXTURES

SURVEY = {
    Threat.VM_COMMUNICATION,
    Threat.VM_ESCAPE,
    Threat.HOST_MONITORING,
    Threat.VM_MONITORING,
    Threat.DENIAL_OF_SERVICE,
    Threat.GUEST_TO_GUEST,
    Threat.VM_MODIFICATION,
    Threat.HYPERVISOR_MODIFICATION,
}
PLATFORMS = {
    "libvirt": ("insecure-domain.xml", "hardened-domain.xml"),
    "vmware": ("insecure-workstation.vmx", "hardened-esxi.vmx"),
    "virtualbox": ("insecure.vbox", "hardened.vbox"),
    "ovf": ("insecure.ovf", "hardened.ovf"),
}


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_insecure_definition_hits_every_threat_class(platform: str) -> None:
    (report,) = audit_paths([FIXTURES / PLATFORMS[platform][0]], AuditOptions())
    assert report.errors == ()
    assert {f.threat for f in report.findings} >= SURVEY


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_hardened_definition_has_nothing_at_medium_or_above(platform: str) -> None:
    (report,) = audit_paths([FIXTURES / PLATFORMS[platform][1]], AuditOptions())
    assert report.errors == ()
    serious = [f for f in report.findings if f.severity.rank >= Severity.MEDIUM.rank]
    assert serious == []


def test_secrets_in_definitions_are_redacted() -> None:
    secrets = ("S3cretVncPass", "TeleportMe2024", "ChangeMe123!", "tok-9f8e7d6c5b4a")
    names = ("insecure-workstation.vmx", "insecure.vbox", "insecure.ovf")
    reports = audit_paths([FIXTURES / n for n in names], AuditOptions())
    evidence = " ".join(f.evidence for r in reports for f in r.findings)
    assert "…[redacted, " in evidence
    for secret in secrets:
        assert secret not in evidence
