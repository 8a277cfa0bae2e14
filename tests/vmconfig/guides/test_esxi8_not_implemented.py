"""Parameters ESXi 8 does not implement give no finding there, and still do on Workstation.

vSphere 8 SCG (as quoted in issue 16): RemoteDisplay.vnc.*, isolation.device.edit.disable,
isolation.tools.vixMessage.disable, isolation.tools.hgfsServerSet.disable and
vmci0.unrestricted are "not implemented" in ESXi 8; "scans for this parameter should not
generate findings". Workstation and Fusion still honour them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vmguard.vmconfig.model import Platform

from .definitions import audit_one, rule_hits, write_vmx

INSECURE = {
    "vmx.vnc": 'RemoteDisplay.vnc.enabled = "TRUE"\nRemoteDisplay.vnc.port = "5901"\n',
    "vmx.vnc-auth": 'RemoteDisplay.vnc.enabled = "TRUE"\nRemoteDisplay.vnc.password = "pw"\n',
    "vmx.device-edit": 'isolation.device.edit.disable = "FALSE"\n',
    "vmx.vix-message": 'isolation.tools.vixMessage.disable = "FALSE"\n',
    "vmx.hgfs": 'isolation.tools.hgfsServerSet.disable = "FALSE"\n',
    "vmx.vmci-unrestricted": 'vmci0.unrestricted = "TRUE"\n',
}


@pytest.mark.parametrize("rule_id", sorted(INSECURE))
def test_no_finding_on_esxi8(tmp_path: Path, rule_id: str) -> None:
    """ESXi 8 (vmx-20): "scans for this parameter should not generate findings"."""
    report = audit_one(write_vmx(tmp_path, "esxi8", INSECURE[rule_id]))
    assert rule_hits(report, rule_id) == []


@pytest.mark.parametrize("rule_id", sorted(INSECURE))
def test_finding_on_workstation(tmp_path: Path, rule_id: str) -> None:
    """The hosted products implement the parameter, so the insecure value is a finding."""
    report = audit_one(write_vmx(tmp_path, "workstation", INSECURE[rule_id]))
    hits = rule_hits(report, rule_id)
    assert hits and all("assumption" not in h for h in hits)


@pytest.mark.parametrize("rule_id", sorted(INSECURE))
def test_older_hardware_on_esxi8_by_the_users_word(tmp_path: Path, rule_id: str) -> None:
    """vmx-19 runs on ESXi 7 and 8: the file cannot tell, the user's --platform-version can."""
    path = write_vmx(tmp_path, "esxi7", INSECURE[rule_id])
    assert rule_hits(audit_one(path, platform_version=8), rule_id) == []
    unknown = rule_hits(audit_one(path), rule_id)
    assert unknown and all("release unknown" in h for h in unknown)


@pytest.mark.parametrize("rule_id", sorted(INSECURE))
def test_unknown_product_states_its_assumption(tmp_path: Path, rule_id: str) -> None:
    """vmx-20 without productCompatibility may be Workstation 17 or ESXi 8: say so."""
    path = write_vmx(tmp_path, "unknown", INSECURE[rule_id])
    hits = rule_hits(audit_one(path), rule_id)
    assert hits and all("not implemented on esxi 8" in h for h in hits)
    assert rule_hits(audit_one(path, platform=Platform.ESXI, platform_version=8), rule_id) == []
    assert rule_hits(audit_one(path, platform=Platform.FUSION), rule_id)


def test_connectable_still_judged_on_esxi8(tmp_path: Path) -> None:
    """vm-8.isolation-device-connectable-deactivate: isolation.device.connectable.disable
    "TRUE or Undefined" is the baseline, so an explicit FALSE is a finding on ESXi 8."""
    path = write_vmx(tmp_path, "esxi8", 'isolation.device.connectable.disable = "FALSE"\n')
    assert rule_hits(audit_one(path), "vmx.device-connectable")
