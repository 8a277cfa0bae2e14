"""VM definitions for the guide tests, written the way each product writes them.

A .vmx is text lines of ``key = "value"``; ``esxi8_vmx`` is shaped like a vSphere 8 VM
(vmx-20, an ESXi-only key and a VMFS datastore path), ``workstation_vmx`` like a Workstation
17 VM (same hardware version, ``virtualHW.productCompatibility = "hosted"``).
"""

from __future__ import annotations

from pathlib import Path

from vmguard.findings import Report
from vmguard.vmconfig.audit import AuditOptions, audit_paths
from vmguard.vmconfig.model import Platform

_COMMON = """.encoding = "UTF-8"
config.version = "8"
displayName = "{name}"
guestOS = "rhel9-64"
memsize = "2048"
numvcpus = "2"
scsi0.present = "TRUE"
scsi0.virtualDev = "pvscsi"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "{name}.vmdk"
"""
ESXI8 = (
    'virtualHW.version = "20"\n'
    'sched.swap.derivedName = "/vmfs/volumes/5f3c2a1e-8b7d6c5e/{name}/{name}-5a1c7d3e.vswp"\n'
)
ESXI7 = ESXI8.replace('"20"', '"19"')
WORKSTATION = 'virtualHW.version = "20"\nvirtualHW.productCompatibility = "hosted"\n'
UNKNOWN = 'virtualHW.version = "20"\n'
PRODUCTS = {"esxi8": ESXI8, "esxi7": ESXI7, "workstation": WORKSTATION, "unknown": UNKNOWN}


def write_vmx(directory: Path, product: str, lines: str, name: str = "guide-vm") -> Path:
    """A .vmx for ``product`` (esxi8, esxi7, workstation, unknown) with ``lines`` added."""
    path = directory / f"{name}-{product}.vmx"
    text = _COMMON.format(name=name) + PRODUCTS[product].format(name=name) + lines
    path.write_text(text, encoding="utf-8")
    return path


def audit_one(path: Path, **options: Platform | int | None) -> Report:
    """The single report of auditing ``path``."""
    (report,) = audit_paths([path], AuditOptions(**options))  # type: ignore[arg-type]
    assert report.errors == ()
    return report


def rule_hits(report: Report, rule_id: str) -> list[str]:
    """Evidence of ``rule_id``'s findings in ``report``."""
    return [f.evidence for f in report.findings if f.rule_id == rule_id]
