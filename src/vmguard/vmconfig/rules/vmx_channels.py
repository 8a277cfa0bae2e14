"""VMware rules over host-guest channels and consoles: shared folders, serial ports, VNC,
console sharing (.vmx and OVF ExtraConfig); encryption is in ``vmx_encryption``.

Each function's docstring is its rationale. Paths in values are never opened; VNC passwords
are redacted.
"""

from __future__ import annotations

from collections.abc import Iterator

from vmguard.checks.redact import redact
from vmguard.findings import Severity, Threat
from vmguard.vmconfig.model import ConfigFormat, Platform, VmSpec
from vmguard.vmconfig.rules.model import (
    ESXI8_NOT_IMPLEMENTED,
    WILDCARD_ADDRESSES,
    AuditContext,
    Hit,
    VmCheck,
    is_vmx_false,
    is_vmx_true,
    parse_int,
    retirement,
    settings_matching,
    shown,
    vm_rule,
)

_VMWARE = (ConfigFormat.VMX, ConfigFormat.OVF)
_VMX_ONLY = (ConfigFormat.VMX,)  # settings an OVF export cannot carry


@vm_rule(
    "vmx.hgfs",
    title="Host folders are shared with the guest (HGFS)",
    severity=Severity.MEDIUM,
    threat=Threat.VM_COMMUNICATION,
    formats=_VMWARE,
    remediation="Remove sharedFolderN entries and set "
    'isolation.tools.hgfsServerSet.disable = "TRUE".',
    references=("SCG6.0 VM.disable-hgfs", "STIG7 VMCH-70-000007"),
)
def hgfs(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Shared folders put a host directory inside the guest; a writable one lets the guest
    plant files on the host."""
    ignored, note = retirement((ESXI8_NOT_IMPLEMENTED,), spec, ctx)
    keys = ("isolation.tools.hgfs.disable",) + (
        () if ignored else ("isolation.tools.hgfsserverset.disable",)
    )
    for key in keys:
        found = spec.setting(key)
        if found is not None and is_vmx_false(found.value):
            serverset = key.endswith("serverset.disable")
            yield Hit(found.key, shown(found), assumption=note if serverset else None)
    for present in settings_matching(spec, "sharedfolder*.present"):
        if not is_vmx_true(present.value):
            continue
        prefix = present.key.lower().rsplit(".", 1)[0]
        enabled = spec.setting(f"{prefix}.enabled")
        if enabled is not None and is_vmx_false(enabled.value):
            continue
        write = spec.setting(f"{prefix}.writeaccess")
        path = spec.setting(f"{prefix}.hostpath")
        where = f" ({shown(path)})" if path is not None else ""
        if write is not None and is_vmx_true(write.value):
            yield Hit(write.key, f"{shown(write)}{where}", severity=Severity.HIGH)
        else:
            yield Hit(present.key, f"{shown(present)}{where}")


@vm_rule(
    "vmx.serial-channel",
    title="A serial port connects the guest to a host pipe, network or file",
    severity=Severity.MEDIUM,
    threat=Threat.VM_COMMUNICATION,
    formats=_VMWARE,
    remediation="Remove serial ports that are not needed.",
    references=("SCG8 vm-8.remove-unnecessary-devices", "STIG VMCH-80-000212"),
)
def serial_channel(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A serial port is a data channel between the guest and a host file, pipe or socket."""
    for present in settings_matching(spec, "serial*.present"):
        if not is_vmx_true(present.value):
            continue
        prefix = present.key.lower().rsplit(".", 1)[0]
        kind = spec.setting(f"{prefix}.filetype")
        if kind is not None and kind.value.lower() in ("network", "pipe"):
            yield Hit(kind.key, shown(kind))
        else:
            yield Hit(present.key, shown(present), severity=Severity.LOW)


@vm_rule(
    "vmx.vnc-auth",
    title="VNC console without a safe password or bound to every address",
    severity=Severity.HIGH,
    threat=Threat.HOST_MONITORING,
    formats=_VMWARE,
    remediation="Disable RemoteDisplay.vnc; if unavoidable, bind it to 127.0.0.1 and remove "
    "the plaintext RemoteDisplay.vnc.password.",
    references=("libvirt src/vmx/vmx.c", "packer-plugin-vmware step_configure_vnc.go"),
)
def vnc_auth(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A VNC console with no password, or listening on all addresses, hands the VM's screen
    and keyboard to the network; a password written in the .vmx is readable by anyone who
    reads the file. ESXi 8 does not implement RemoteDisplay.vnc.* (no finding there)."""
    ignored, note = retirement((ESXI8_NOT_IMPLEMENTED,), spec, ctx)
    if ignored:
        return
    for hit in _vnc_hits(spec):
        yield Hit(hit.where, hit.evidence, assumption=note, severity=hit.severity)


def _vnc_hits(spec: VmSpec) -> Iterator[Hit]:
    enabled = spec.setting("remotedisplay.vnc.enabled")
    password = spec.setting("remotedisplay.vnc.password")
    if password is not None and password.value:
        yield Hit(
            password.key,
            f'{password.key} = "{redact(password.value)}" (plaintext in the definition)',
            severity=Severity.HIGH if enabled and is_vmx_true(enabled.value) else Severity.MEDIUM,
        )
    if enabled is None or not is_vmx_true(enabled.value):
        return
    key = spec.setting("remotedisplay.vnc.key")
    if (password is None or not password.value) and (key is None or not key.value):
        yield Hit(enabled.key, f"{shown(enabled)} with no RemoteDisplay.vnc.password or .key")
    ip = spec.setting("remotedisplay.vnc.ip")
    if ip is None or ip.value.strip() in WILDCARD_ADDRESSES:
        yield Hit(
            ip.key if ip else enabled.key,
            (shown(ip) if ip else "RemoteDisplay.vnc.ip absent") + " (listens on every address)",
        )


@vm_rule(
    "vmx.console-sharing",
    title="Several users may share the VM console at once",
    severity=Severity.MEDIUM,
    threat=Threat.HOST_MONITORING,
    formats=_VMX_ONLY,
    remediation='Set RemoteDisplay.maxConnections = "1".',
    references=("SCG8 vm-8.limit-console-connections", "STIG VMCH-80-000195"),
)
def console_sharing(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A second console user can watch everything the first one does."""
    found = spec.setting("remotedisplay.maxconnections")
    if found is not None:
        count = parse_int(found.value)
        if count is None or count < 0 or count > 1:
            yield Hit(found.key, shown(found))
        return
    platform, _ = ctx.platform_for(spec)
    if platform is Platform.ESXI:
        yield Hit("RemoteDisplay.maxConnections", "absent (ESXi default allows many sessions)")
    elif platform is None:
        yield Hit(
            "RemoteDisplay.maxConnections",
            "absent",
            assumption="product unknown; ESXi's default allows many console sessions",
        )


VMX_CHANNEL_CHECKS: tuple[VmCheck, ...] = (
    hgfs,
    serial_channel,
    vnc_auth,
    console_sharing,
)
