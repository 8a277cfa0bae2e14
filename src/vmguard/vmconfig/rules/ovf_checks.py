"""OVF descriptor rules (``ovf.``): secrets in properties, package integrity, legacy
hardware and resource limits. VMware ExtraConfig in an OVF is judged by the ``vmx.`` rules.

Each function's docstring is its rationale. Property values are redacted in evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from xml.etree.ElementTree import Element

from vmguard.checks.redact import redact
from vmguard.findings import Severity, Threat
from vmguard.vmconfig.model import ConfigFormat, VmSpec
from vmguard.vmconfig.rules.model import AuditContext, Hit, VmCheck, vm_rule

_OVF = (ConfigFormat.OVF,)
_DSP = "DMTF DSP0243 (OVF)"
_SECRET_KEY = re.compile(
    r"pass(?:wd|word|phrase)?|secret|token|api[_.-]?key|private[_.-]?key", re.I
)
_LEGACY = {"14": "floppy drive", "21": "serial port", "22": "parallel port", "23": "USB controller",
           "35": "sound card"}  # fmt: skip


def _items(spec: VmSpec) -> Iterator[Element]:
    if spec.root is None:
        return
    for section in spec.root.findall("VirtualHardwareSection"):
        for child in section:
            if child.tag.endswith("Item"):
                yield child


def _field(item: Element, name: str) -> str:
    found = item.find(name)
    return "" if found is None or found.text is None else found.text.strip()


@vm_rule(
    "ovf.secret",
    title="A password or secret is stored in an OVF property",
    severity=Severity.HIGH,
    threat=Threat.HOST_MONITORING,
    formats=_OVF,
    remediation="Ship password properties empty and let the deployer supply them.",
    references=(f"{_DSP}: ProductSection (ovf:password; values travel in clear text)",),
)
def secret(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """OVF property values travel in clear text with the package; a default password is
    known to everyone who has the file."""
    for prop in spec.properties:
        if not prop.value:
            continue
        if prop.password:
            yield Hit(
                f"ProductSection/Property[@key='{prop.key}']",
                f"ovf:password value {redact(prop.value)}",
            )
        elif _SECRET_KEY.search(prop.key):
            yield Hit(
                f"ProductSection/Property[@key='{prop.key}']",
                f"secret-like key with value {redact(prop.value)}",
                severity=Severity.MEDIUM,
            )


@vm_rule(
    "ovf.integrity",
    title="The OVF package has no manifest or signature",
    severity=Severity.MEDIUM,
    threat=Threat.VM_MODIFICATION,
    formats=_OVF,
    remediation="Ship a .mf manifest with SHA-256 digests and sign it (.cert).",
    references=(f"{_DSP}: package structure (.mf, .cert)",),
)
def integrity(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Without digests or a signature nobody can tell whether the descriptor or disks were
    changed after export."""
    if spec.signed_package is False:
        yield Hit("package", "no .mf manifest or .cert certificate")


@vm_rule(
    "ovf.legacy-hw",
    title="Legacy hardware (floppy, serial, parallel, USB, sound) in the OVF",
    severity=Severity.MEDIUM,
    threat=Threat.VM_ESCAPE,
    formats=_OVF,
    remediation="Remove legacy devices from the VirtualHardwareSection.",
    references=(
        "CIM RASD ResourceType values",
        "CVE-2015-3456 (VENOM)",
        "STIG VMCH-80-000209: ResourceType=14",
        "STIG VMCH-80-000211: ResourceType=22",
        "STIG VMCH-80-000212: ResourceType=21",
        "STIG VMCH-80-000213: ResourceType=23",
        "SCG8 vm-8.remove-unnecessary-devices",
    ),
)
def legacy_hw(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Legacy emulated devices are where guest-to-host escapes have been found."""
    for item in _items(spec):
        kind = _field(item, "ResourceType")
        if kind in _LEGACY:
            severity = Severity.LOW if kind in ("23", "35") else None
            yield Hit(
                f"Item[rasd:ResourceType={kind}]",
                f"{_LEGACY[kind]} {_field(item, 'ElementName')!r}",
                severity=severity,
            )


@vm_rule(
    "ovf.no-limits",
    title="No CPU or memory limit, reservation or shares in the OVF",
    severity=Severity.LOW,
    threat=Threat.DENIAL_OF_SERVICE,
    formats=_OVF,
    remediation="Give the CPU and memory Items a rasd:Limit or rasd:Weight.",
    references=("CIM RASD Limit/Weight",),
)
def no_limits(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A VM deployed without limits can starve its neighbours."""
    for item in _items(spec):
        kind = _field(item, "ResourceType")
        if kind in ("3", "4") and not (_field(item, "Limit") or _field(item, "Weight")):
            what = "CPU" if kind == "3" else "memory"
            yield Hit(
                f"Item[rasd:ResourceType={kind}]",
                f"{what} without Limit or Weight",
                host_dependent="the target resource pool may still limit it",
            )


OVF_CHECKS: tuple[VmCheck, ...] = (secret, integrity, legacy_hw, no_limits)
