"""VMware rules that need more than one key/value comparison (.vmx and OVF ExtraConfig).

Each function's docstring is its rationale. Rules read settings only; paths in values
(ISOs, shared folders, pipes) are never opened. VNC passwords are redacted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from vmguard.findings import Severity, Threat
from vmguard.vmconfig.model import ConfigFormat, VmSpec
from vmguard.vmconfig.rules.model import (
    AuditContext,
    Hit,
    VmCheck,
    is_vmx_false,
    is_vmx_true,
    parse_int,
    settings_matching,
    shown,
    vm_rule,
)

_VMWARE = (ConfigFormat.VMX, ConfigFormat.OVF)
_VMX_ONLY = (ConfigFormat.VMX,)  # settings an OVF export cannot carry
_DISK_KEY = re.compile(r"^(?:scsi|ide|sata|nvme)\d+:\d+$")


@vm_rule(
    "vmx.cdrom",
    title="A CD-ROM image is connected at power-on",
    severity=Severity.LOW,
    threat=Threat.VM_ESCAPE,
    formats=_VMWARE,
    remediation='Set the CD-ROM\'s startConnected = "FALSE" when no installation is running.',
    references=("STIG VMCH-80-000210", "SCG8 vm-8.remove-unnecessary-devices"),
)
def cdrom(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A connected CD-ROM is another device the guest can drive, and a way to swap media."""
    for key, setting in sorted(spec.settings.items()):
        if not key.endswith(".devicetype") or setting.value.lower() != "cdrom-image":
            continue
        prefix = key.rsplit(".", 1)[0]
        if not _DISK_KEY.match(prefix):
            continue
        present = spec.setting(f"{prefix}.present")
        connected = spec.setting(f"{prefix}.startconnected")
        if present is not None and is_vmx_false(present.value):
            continue
        if connected is None or is_vmx_true(connected.value):
            image = spec.setting(f"{prefix}.filename")
            yield Hit(setting.key, shown(image) if image is not None else shown(setting))


@vm_rule(
    "vmx.cdrom-host",
    title="A host CD/DVD drive is connected to the VM",
    severity=Severity.MEDIUM,
    threat=Threat.VM_ESCAPE,
    formats=_VMWARE,
    remediation='Use an ISO image instead of the host\'s drive (deviceType "cdrom-image"), '
    "or remove the CD/DVD drive.",
    references=("STIG VMCH-80-000210", "SCG8 vm-8.remove-unnecessary-devices"),
)
def cdrom_host(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A passed-through host drive (atapi-cdrom, cdrom-raw) lets the guest read whatever
    disc is in the host and drive the host's device with raw commands."""
    for key, setting in sorted(spec.settings.items()):
        prefix = key.rsplit(".", 1)[0]
        if not key.endswith(".devicetype") or not _DISK_KEY.match(prefix):
            continue
        if setting.value.strip().lower() not in ("atapi-cdrom", "cdrom-raw"):
            continue
        present = spec.setting(f"{prefix}.present")
        if present is None or not is_vmx_false(present.value):
            drive = spec.setting(f"{prefix}.filename")
            yield Hit(setting.key, shown(setting) + (f" ({shown(drive)})" if drive else ""))


@vm_rule(
    "vmx.nic-bridged",
    title="A NIC is bridged onto the host's physical network",
    severity=Severity.INFO,
    threat=Threat.VM_MONITORING,
    formats=_VMWARE,
    remediation="Use NAT, host-only or a segmented custom network unless bridging is required.",
    references=("libvirt tests/vmx2xmldata/ethernet-bridged.vmx",),
)
def nic_bridged(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A bridged NIC shares the physical segment with other machines and their traffic."""
    for setting in settings_matching(spec, "ethernet*.connectiontype"):
        if setting.value.lower() == "bridged":
            yield Hit(setting.key, shown(setting))


@vm_rule(
    "vmx.setinfo",
    title="The guest may write large VMX configuration data (setinfo)",
    severity=Severity.LOW,
    threat=Threat.DENIAL_OF_SERVICE,
    formats=_VMWARE,
    remediation='Set tools.setInfo.sizeLimit = "1048576" or less.',
    references=("SCG8 vm-8.limit-setinfo-size", "STIG VMCH-80-000196"),
)
def setinfo(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Unbounded setinfo messages let the guest fill the host datastore."""
    found = spec.setting("tools.setinfo.sizelimit")
    if found is not None:
        size = parse_int(found.value)
        if size is None or size > 1048576 or size < 0:
            yield Hit(found.key, shown(found))


@vm_rule(
    "vmx.logging",
    title="VM diagnostic logging is switched off",
    severity=Severity.MEDIUM,
    threat=Threat.VM_MODIFICATION,
    formats=_VMWARE,
    remediation='Remove logging = "FALSE" (Enable logging in VM Options > Advanced).',
    references=("SCG8 vm-8.log-enable", "STIG VMCH-80-000207"),
)
def logging(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Without the VM's log there is no record of power events, device changes and
    migrations for troubleshooting or forensics."""
    enabled = spec.setting("logging")
    if enabled is not None and is_vmx_false(enabled.value):
        yield Hit(enabled.key, shown(enabled))


@vm_rule(
    "vmx.no-limits",
    title="No CPU or memory limit or shares on the VM",
    severity=Severity.LOW,
    threat=Threat.DENIAL_OF_SERVICE,
    formats=_VMX_ONLY,
    remediation="Set sched.cpu.max / sched.mem.max or shares, or place the VM in a resource pool.",
    references=("SCG5.5 control-resource-usage",),
)
def no_limits(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A VM without limits or shares can starve its neighbours of CPU and memory."""
    platform, _ = ctx.platform_for(spec)
    if platform is not None and platform.is_vmware_hosted:
        return
    keys = ("sched.cpu.max", "sched.mem.max", "sched.cpu.shares", "sched.mem.shares")
    values = [spec.setting(k) for k in keys]
    limited = [v for v in values if v is not None and v.value.lower() not in ("", "unlimited")]
    if not limited:
        yield Hit(
            "sched.cpu.max",
            "no sched.cpu/sched.mem limit or shares",
            host_dependent="a resource pool on the host may still limit this VM",
        )


@vm_rule(
    "vmx.shared-disk",
    title="A disk or SCSI bus is shared with other VMs",
    severity=Severity.MEDIUM,
    threat=Threat.GUEST_TO_GUEST,
    formats=_VMWARE,
    remediation='Justify multi-writer disks and sharedBus; otherwise set sharedBus = "none".',
    references=("vSphere multi-writer documentation",),
)
def shared_disk(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A disk writable by several VMs lets one guest modify another's data."""
    for key, setting in sorted(spec.settings.items()):
        value = setting.value.lower()
        multi_writer = key.endswith(".sharing") and value == "multi-writer"
        if multi_writer or (key.endswith(".sharedbus") and value not in ("none", "")):
            yield Hit(setting.key, shown(setting))


@vm_rule(
    "vmx.nonpersistent",
    title="An independent non-persistent disk discards changes",
    severity=Severity.MEDIUM,
    threat=Threat.VM_MODIFICATION,
    formats=_VMWARE,
    remediation='Use persistent disk mode (scsiX:Y.mode = "persistent").',
    references=("SCG9 vm-9.persistent-disk", "STIG VMCH-80-000208"),
)
def nonpersistent(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A non-persistent disk throws away an attacker's changes and the evidence with them
    at power-off."""
    for key, setting in sorted(spec.settings.items()):
        is_disk_mode = key.endswith(".mode") and _DISK_KEY.match(key.rsplit(".", 1)[0])
        value = setting.value.lower()
        if is_disk_mode and ("nonpersistent" in value or value == "undoable"):
            yield Hit(setting.key, shown(setting))


@vm_rule(
    "vmx.secure-boot",
    title="UEFI Secure Boot is not enabled",
    severity=Severity.MEDIUM,
    threat=Threat.HYPERVISOR_MODIFICATION,
    formats=_VMWARE,
    remediation='Set firmware = "efi" and uefi.secureBoot.enabled = "TRUE".',
    references=("SCG8 guest-8.secure-boot", "SCG9 vm-9.secure-boot"),
)
def secure_boot(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Without Secure Boot a modified boot loader or kernel runs unnoticed."""
    firmware = spec.setting("firmware")
    if firmware is None or firmware.value.lower() != "efi":
        yield Hit("firmware", shown(firmware) if firmware else "firmware absent (BIOS default)")
        return
    enabled = spec.setting("uefi.secureboot.enabled")
    if enabled is None or not is_vmx_true(enabled.value):
        yield Hit("uefi.secureBoot.enabled", shown(enabled) if enabled else "absent (off)")


@vm_rule(
    "vmx.boot-sources",
    title="The firmware may boot from any device class",
    severity=Severity.LOW,
    threat=Threat.HYPERVISOR_MODIFICATION,
    formats=_VMWARE,
    remediation='Set bios.bootDeviceClasses = "allow:hd" once the guest OS is installed (or '
    '"deny:net" where removable media must stay bootable).',
    references=("SCG8 vm-8.efi-boot-types",),
)
def boot_sources(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Booting from network or removable media lets someone substitute the OS when the boot
    disk is unavailable; the default (the key absent) is allow:all."""
    found = spec.setting("bios.bootdeviceclasses")
    if found is None:
        yield Hit("bios.bootDeviceClasses", "absent (default allow:all)")
        return
    verb, _, classes = found.value.strip().lower().partition(":")
    named = {c.strip() for c in classes.split(",") if c.strip()}
    if verb == "allow" and named and named <= {"hd"}:
        return
    if verb == "deny" and named & {"net", "all", "any"}:
        return
    yield Hit(found.key, shown(found))


VMX_CHECKS: tuple[VmCheck, ...] = (
    cdrom,
    cdrom_host,
    nic_bridged,
    setinfo,
    logging,
    no_limits,
    shared_disk,
    nonpersistent,
    secure_boot,
    boot_sources,
)
