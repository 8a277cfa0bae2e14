"""VM definitions for the guide tests, written the way each product writes them.

A .vmx is text lines of ``key = "value"``; ``esxi8_vmx`` is shaped like a vSphere 8 VM
(vmx-20, an ESXi-only key and a VMFS datastore path), ``workstation_vmx`` like a Workstation
17 VM (same hardware version, ``virtualHW.productCompatibility = "hosted"``).
"""

from __future__ import annotations

from pathlib import Path

from vmguard.findings import Report
from vmguard.vmconfig.audit import AuditOptions, audit_paths

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


def audit_one(path: Path, **options: object) -> Report:
    """The single report of auditing ``path``."""
    (report,) = audit_paths([path], AuditOptions(**options))  # type: ignore[arg-type]
    assert report.errors == ()
    return report


def rule_hits(report: Report, rule_id: str) -> list[str]:
    """Evidence of ``rule_id``'s findings in ``report``."""
    return [f.evidence for f in report.findings if f.rule_id == rule_id]


_OVF = """<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"
    xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
    xmlns:vmw="http://www.vmware.com/schema/ovf"
    xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
    xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References/>
  <VirtualSystem ovf:id="{name}">
    <Info>A virtual machine</Info>
    <Name>{name}</Name>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>{name}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-20</vssd:VirtualSystemType>
      </System>
{extra}
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"""


def write_ovf(directory: Path, lines: str, name: str = "guide-vm", items: str = "") -> Path:
    """A vSphere 8 OVF (vmx-20) carrying ``lines`` (``key = "value"``) as vmw:ExtraConfig,
    after the ``nvram`` entry vSphere exports put in every VM's ExtraConfig, and ``items``
    (RASD ``<Item>`` elements) in its VirtualHardwareSection."""
    extra = []
    for line in f'nvram = "{name}.nvram"\n{lines}'.splitlines():
        key, _, value = line.partition(" = ")
        if key:
            extra.append(
                f'      <vmw:ExtraConfig ovf:required="false" vmw:key="{key}" '
                f'vmw:value="{value.strip().strip(chr(34))}"/>'
            )
    path = directory / f"{name}.ovf"
    text = _OVF.format(name=name, extra=items + "\n".join(extra))
    path.write_text(text, encoding="utf-8")
    return path


def item_status(report: Report, item_id: str, subject: str = "guide-vm") -> str:
    """The status of ``item_id`` for ``subject`` in the report's compliance view."""
    assert report.compliance is not None
    (result,) = [
        r for r in report.compliance.results if r.item_id == item_id and r.subject == subject
    ]
    return f"{result.status.value}: {result.reason}"
