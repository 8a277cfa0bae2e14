"""VirtualBox rules over data that leaves the host by the network: teleporting and iSCSI
disks with their CHAP secrets.

Each function's docstring is its rationale. Secrets are redacted in evidence; target
addresses are evidence only and never contacted.
"""

from __future__ import annotations

from collections.abc import Iterator

from vmguard.checks.redact import redact
from vmguard.findings import Severity, Threat
from vmguard.vmconfig.model import ConfigFormat, VmSpec
from vmguard.vmconfig.rules.model import (
    WILDCARD_ADDRESSES,
    AuditContext,
    Hit,
    VmCheck,
    vm_rule,
)
from vmguard.vmconfig.rules.vbox_checks import machine

_VBOX = (ConfigFormat.VBOX,)
_MANUAL = "VirtualBox manual: Security Guide, Potentially Insecure Operations"
_ISCSI_SECRETS = ("InitiatorSecret", "TargetSecret")


@vm_rule(
    "vbox.teleporter",
    title="The VM waits for a teleport (live migration) on a TCP port",
    severity=Severity.MEDIUM,
    threat=Threat.HOST_MONITORING,
    formats=_VBOX,
    remediation="Disable teleporting (VBoxManage modifyvm --teleporter off) except during a "
    "migration over a trusted network.",
    references=("VBOX VBOX-05", _MANUAL, "VirtualBox manual: Teleporting"),
)
def teleporter(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A teleport target accepts the whole VM state, memory included, over an unencrypted
    TCP stream from whoever knows the password; the source sends its memory in clear."""
    root = machine(spec)
    found = None if root is None else root.find("./Teleporter")
    if found is None or found.get("enabled", "false").lower() != "true":
        return
    address = found.get("address", "")
    every = " (every address)" if address in WILDCARD_ADDRESSES else f" on {address!r}"
    yield Hit("Teleporter/@enabled", f"enabled, port {found.get('port', '0')}{every}")


@vm_rule(
    "vbox.iscsi-secret",
    title="An iSCSI CHAP secret is stored in clear in the settings",
    severity=Severity.HIGH,
    threat=Threat.HOST_MONITORING,
    formats=_VBOX,
    remediation="Remove the InitiatorSecret/TargetSecret property and give the secret at "
    "attach time, or encrypt the VM's settings (VirtualBox 7 VM encryption).",
    references=("VBOX VBOX-07", _MANUAL, "VirtualBox manual: iSCSI servers"),
)
def iscsi_secret(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Anyone who can read the .vbox (backups, a shared home directory) reads the CHAP
    secret and can log in to the iSCSI target as this VM."""
    root = machine(spec)
    for disk in [] if root is None else root.iter("HardDisk"):
        for prop in disk.findall("Property"):
            name, value = prop.get("name", ""), prop.get("value", "")
            if name in _ISCSI_SECRETS and value:
                yield Hit(
                    f"HardDisk/Property[@name='{name}']",
                    f"{name}={redact(value)} for {disk.get('location', '')!r}",
                )


VBOX_REMOTE_CHECKS: tuple[VmCheck, ...] = (teleporter, iscsi_secret)
