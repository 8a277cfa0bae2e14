"""VMware encryption rules: the VM's files, vMotion and Fault Tolerance (.vmx only).

Separate rules because the guides judge them separately: the vSphere 8 SCG requires
"required" vMotion and FT encryption, the ESXi 8 VM STIG accepts "opportunistic" and fails
only "disabled", and neither requires whole-VM encryption. Each can be waived alone (the
old combined id ``vmx.encryption`` still names all of them in policy files).
"""

from __future__ import annotations

from collections.abc import Iterator

from vmguard.findings import Severity, Threat
from vmguard.vmconfig.model import ConfigFormat, Platform, VmSpec
from vmguard.vmconfig.rules.model import AuditContext, Hit, VmCheck, shown, vm_rule

_VMX_ONLY = (ConfigFormat.VMX,)  # the modes are VM configuration an OVF does not carry
_VMOTION = ("migrate.encryptionMode", "disabled", "required", "opportunistic")
_FT = ("ftcpt.ftEncryptionMode", "ftEncryptionDisabled", "ftEncryptionRequired",
       "ftEncryptionOpportunistic")  # fmt: skip


def _mode(spec: VmSpec, ctx: AuditContext, key: str, default: str) -> tuple[str, str, str]:
    """The mode value (lower case), where it was read, and evidence for a finding."""
    found = spec.setting(key)
    if found is not None:
        return found.value.strip().lower(), found.key, shown(found)
    platform, _ = ctx.platform_for(spec)
    if platform is Platform.ESXI:
        return default.lower(), key, f"absent (ESXi default: {default})"
    return "", key, "absent"


def _disabled(spec: VmSpec, ctx: AuditContext, mode: tuple[str, ...]) -> Iterator[Hit]:
    """A hit where the mode setting (key, disabled, required, ESXi default) is "disabled"."""
    key, disabled, _, default = mode
    value, where, evidence = _mode(spec, ctx, key, default)
    if value == disabled.lower():
        yield Hit(where, evidence)


def _not_required(spec: VmSpec, ctx: AuditContext, mode: tuple[str, ...]) -> Iterator[Hit]:
    """A hit where the mode is set (or defaults) to anything but "disabled" or "required"."""
    key, disabled, required, default = mode
    value, where, evidence = _mode(spec, ctx, key, default)
    if value and value not in (disabled.lower(), required.lower()):
        yield Hit(where, evidence)


@vm_rule(
    "vmx.encryption.vm",
    title="The VM's files are not encrypted",
    severity=Severity.LOW,
    threat=Threat.HOST_MONITORING,
    formats=_VMX_ONLY,
    remediation="Encrypt the VM with a key provider (VM Options > Encryption) where the data "
    "needs it; the SCG and STIG do not require it.",
    references=("vSphere 8 Security: Virtual Machine Encryption",),
)
def vm_encryption(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Unencrypted VM files (disks, memory, NVRAM) can be read by anyone with access to the
    datastore; neither the SCG nor the STIG requires encryption, so this is advice only."""
    if spec.setting("encryption.keysafe") is None and spec.setting("encryption.data") is None:
        yield Hit("encryption.keySafe", "absent: VM files are not encrypted")


@vm_rule(
    "vmx.encryption.vmotion",
    title="vMotion encryption is disabled",
    severity=Severity.MEDIUM,
    threat=Threat.HOST_MONITORING,
    formats=_VMX_ONLY,
    remediation='Set Encrypted vMotion to "Required" (migrate.encryptionMode = "required").',
    references=("STIG VMCH-80-000203", "SCG8 vm-8.vmotion-encrypted"),
)
def vmotion_disabled(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A disabled vMotion encryption sends the VM's memory and CPU state in clear text over
    the vMotion network."""
    yield from _disabled(spec, ctx, _VMOTION)


@vm_rule(
    "vmx.encryption.vmotion-required",
    title="vMotion encryption is not required (opportunistic)",
    severity=Severity.LOW,
    threat=Threat.HOST_MONITORING,
    formats=_VMX_ONLY,
    remediation='Set migrate.encryptionMode = "required".',
    references=("SCG8 vm-8.vmotion-encrypted",),
)
def vmotion_optional(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Opportunistic vMotion encryption falls back to clear text when a host cannot encrypt;
    only "required" guarantees no unencrypted migration."""
    yield from _not_required(spec, ctx, _VMOTION)


@vm_rule(
    "vmx.encryption.ft",
    title="Fault Tolerance encryption is disabled",
    severity=Severity.MEDIUM,
    threat=Threat.HOST_MONITORING,
    formats=_VMX_ONLY,
    remediation='Set Encrypted FT to "Required" (ftcpt.ftEncryptionMode = "ftEncryptionRequired").',
    references=("STIG VMCH-80-000204", "SCG8 vm-8.ft-encrypted"),
)
def ft_disabled(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Fault Tolerance log traffic carries the protected VM's memory and CPU state; with FT
    encryption disabled it crosses the network in clear text."""
    yield from _disabled(spec, ctx, _FT)


@vm_rule(
    "vmx.encryption.ft-required",
    title="Fault Tolerance encryption is not required (opportunistic)",
    severity=Severity.LOW,
    threat=Threat.HOST_MONITORING,
    formats=_VMX_ONLY,
    remediation='Set ftcpt.ftEncryptionMode = "ftEncryptionRequired".',
    references=("SCG8 vm-8.ft-encrypted",),
)
def ft_optional(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Opportunistic FT encryption runs unencrypted when either host cannot encrypt."""
    yield from _not_required(spec, ctx, _FT)


VMX_ENCRYPTION_CHECKS: tuple[VmCheck, ...] = (
    vm_encryption,
    vmotion_disabled,
    vmotion_optional,
    ft_disabled,
    ft_optional,
)
