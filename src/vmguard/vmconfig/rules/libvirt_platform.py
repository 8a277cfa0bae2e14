"""libvirt domain rules over resources, memory sharing, disks shared between domains, and
boot integrity.

Each function's docstring is its rationale. Disk paths are compared as strings, never
opened or resolved on the host.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element

from vmguard.findings import Severity, Threat
from vmguard.vmconfig.model import ConfigFormat, VmSpec
from vmguard.vmconfig.rules.model import AuditContext, Hit, VmCheck, vm_rule

_LIBVIRT = (ConfigFormat.LIBVIRT,)
_DOCS = "libvirt formatdomain.rst"


def _find(spec: VmSpec, path: str) -> Element | None:
    return None if spec.root is None else spec.root.find(path)


def _is_hvm(spec: VmSpec) -> bool:
    kind = _find(spec, "./os/type")
    return kind is not None and (kind.text or "").strip() == "hvm"


def disk_source(disk: Element) -> str | None:
    """The host file, block device, volume or network name a ``<disk>`` uses."""
    source = disk.find("source")
    if source is None:
        return None
    for attr in ("file", "dev", "name", "volume", "dir"):
        value = source.get(attr)
        if value:
            return f"{source.get('pool')}/{value}" if attr == "volume" else value
    return None


def writable_disks(spec: VmSpec) -> list[str]:
    """Sources this domain attaches read-write and unshared (for cross-domain checks)."""
    if spec.format is not ConfigFormat.LIBVIRT or spec.root is None:
        return []
    found: list[str] = []
    for disk in spec.root.findall("./devices/disk"):
        if disk.get("device", "disk") not in ("disk", "lun"):
            continue
        if disk.find("readonly") is not None or disk.find("shareable") is not None:
            continue
        source = disk_source(disk)
        if source is not None:
            found.append(source)
    return found


@vm_rule(
    "libvirt.confidential",
    title="Guest memory is not protected from the host (no launch security)",
    severity=Severity.INFO,
    threat=Threat.HOST_MONITORING,
    formats=_LIBVIRT,
    remediation="Use launchSecurity (SEV-SNP, TDX, s390-pv) where the host supports it, "
    "with the SEV NODBG policy bit set.",
    references=(f"{_DOCS}: Launch Security",),
)
def confidential(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Without memory encryption the host (or whoever owns it) can read guest memory."""
    launch = _find(spec, "./launchSecurity")
    if launch is None:
        if _is_hvm(spec):
            yield Hit("/domain/launchSecurity", "absent")
        return
    policy = launch.find("policy")
    if launch.get("type") == "sev" and policy is not None and policy.text:
        try:
            value = int(policy.text.strip(), 0)
        except ValueError:
            return
        if not value & 1:
            yield Hit(
                "/domain/launchSecurity/policy",
                f"{policy.text.strip()} (NODBG bit clear: the host may debug the guest)",
                severity=Severity.MEDIUM,
            )


@vm_rule(
    "libvirt.memtune",
    title="Guest memory is not limited",
    severity=Severity.MEDIUM,
    threat=Threat.DENIAL_OF_SERVICE,
    formats=_LIBVIRT,
    remediation="Set memtune/hard_limit when memory is locked; consider soft limits otherwise.",
    references=(f"{_DOCS}: Memory Backing; Memory Tuning",),
)
def memtune(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Locked guest memory without a hard limit can pin all of the host's RAM."""
    tune = _find(spec, "./memtune")
    if _find(spec, "./memoryBacking/locked") is not None:
        if tune is None or tune.find("hard_limit") is None:
            yield Hit("/domain/memtune/hard_limit", "memoryBacking/locked without hard_limit")
    elif tune is None and _is_hvm(spec):
        yield Hit("/domain/memtune", "absent", severity=Severity.INFO)


@vm_rule(
    "libvirt.cputune",
    title="No CPU quota or shares",
    severity=Severity.LOW,
    threat=Threat.DENIAL_OF_SERVICE,
    formats=_LIBVIRT,
    remediation="Set cputune period+quota, global_quota or shares.",
    references=(f"{_DOCS}: CPU Tuning",),
)
def cputune(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A guest without CPU limits can starve its neighbours."""
    tune = _find(spec, "./cputune")
    limited = tune is not None and any(
        tune.find(tag) is not None for tag in ("quota", "global_quota", "shares")
    )
    if not limited:
        yield Hit(
            "/domain/cputune",
            "no quota, global_quota or shares",
            host_dependent="the host's cgroup (machine slice) may still limit it",
        )


@vm_rule(
    "libvirt.io-limits",
    title="No block I/O limits",
    severity=Severity.LOW,
    threat=Threat.DENIAL_OF_SERVICE,
    formats=_LIBVIRT,
    remediation="Set blkiotune weights or per-disk <iotune> limits.",
    references=(f"{_DOCS}: Block I/O Tuning; iotune",),
)
def io_limits(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """One guest's disk I/O can saturate storage shared with others."""
    if _find(spec, "./blkiotune") is not None or _find(spec, "./devices/disk/iotune") is not None:
        return
    if _find(spec, "./devices/disk") is not None:
        yield Hit("/domain/blkiotune", "no blkiotune and no disk iotune")


@vm_rule(
    "libvirt.net-bandwidth",
    title="A NIC has no bandwidth limit",
    severity=Severity.LOW,
    threat=Threat.DENIAL_OF_SERVICE,
    formats=_LIBVIRT,
    remediation="Add <bandwidth> with inbound/outbound averages to each interface.",
    references=(f"{_DOCS}: Quality of service",),
)
def net_bandwidth(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """One guest can flood the shared uplink."""
    for nic in [] if spec.root is None else spec.root.findall("./devices/interface"):
        if nic.find("bandwidth") is None:
            yield Hit(
                f"/domain/devices/interface[@type='{nic.get('type')}']/bandwidth",
                "absent",
                host_dependent="the network's own <bandwidth> may cap it",
            )


@vm_rule(
    "libvirt.ksm",
    title="Guest memory may be merged with other guests (KSM)",
    severity=Severity.MEDIUM,
    threat=Threat.GUEST_TO_GUEST,
    formats=_LIBVIRT,
    remediation="Add <memoryBacking><nosharepages/></memoryBacking>.",
    references=(f"{_DOCS}: Memory Backing (1.0.6)",),
)
def ksm(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Same-page merging across guests enables memory-deduplication side channels."""
    if _is_hvm(spec) and _find(spec, "./memoryBacking/nosharepages") is None:
        yield Hit(
            "/domain/memoryBacking/nosharepages",
            "absent",
            host_dependent="only matters when KSM runs on the host",
        )


@vm_rule(
    "libvirt.writable-base",
    title="A disk is writable by more than one domain, or a backing image is attached writable",
    severity=Severity.MEDIUM,
    threat=Threat.VM_MODIFICATION,
    formats=_LIBVIRT,
    remediation="Attach shared images read-only and give each domain its own overlay.",
    references=(f"{_DOCS}: Hard drives (backingStore)",),
)
def writable_base(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """When two domains write one image, or a base image is written directly, one VM can
    modify another's disk."""
    mine = writable_disks(spec)
    if spec.root is None:
        return
    backing = {
        src
        for store in spec.root.iterfind("./devices/disk//backingStore")
        if (src := disk_source(store)) is not None
    }
    for source in sorted(set(mine)):
        others = [n for n in ctx.disk_writers.get(source, ()) if n != spec.name]
        if others:
            yield Hit("/domain/devices/disk/source", f"{source!r} also written by {sorted(others)}")
        if source in backing:
            yield Hit("/domain/devices/disk/backingStore", f"{source!r} is a backing image")


@vm_rule(
    "libvirt.secure-boot",
    title="UEFI Secure Boot is not enabled",
    severity=Severity.MEDIUM,
    threat=Threat.HYPERVISOR_MODIFICATION,
    formats=_LIBVIRT,
    remediation="Use <os firmware='efi'> with <feature enabled='yes' name='secure-boot'/> and "
    "enrolled-keys, or a loader with secure='yes'.",
    references=(
        "KVM KVM-29",
        f"{_DOCS}: BIOS bootloader (7.2.0)",
    ),
)
def secure_boot(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Without Secure Boot a modified boot loader or kernel runs unnoticed."""
    os_el = _find(spec, "./os")
    if os_el is None or not _is_hvm(spec):
        return
    for feature in os_el.findall("./firmware/feature"):
        if (
            feature.get("name") in ("secure-boot", "enrolled-keys")
            and feature.get("enabled") == "no"
        ):
            yield Hit("/domain/os/firmware/feature", f"{feature.get('name')} enabled='no'")
            return
    loader = os_el.find("loader")
    if loader is not None and loader.get("secure") == "yes":
        return
    features = {
        f.get("name") for f in os_el.findall("./firmware/feature") if f.get("enabled") == "yes"
    }
    if os_el.get("firmware") == "efi" and "secure-boot" in features:
        return
    firmware = os_el.get("firmware") or ("efi" if loader is not None else "bios (default)")
    yield Hit("/domain/os", f"firmware {firmware!r} without secure boot")


@vm_rule(
    "libvirt.tpm",
    title="No virtual TPM, or the host TPM is passed through",
    severity=Severity.LOW,
    threat=Threat.HYPERVISOR_MODIFICATION,
    formats=_LIBVIRT,
    remediation="Add an emulated TPM 2.0 with encrypted state (<tpm><backend type='emulator' "
    "version='2.0'><encryption secret=.../></backend></tpm>).",
    references=(
        "KVM KVM-30",
        f"{_DOCS}: TPM device",
    ),
)
def tpm(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Without a TPM the guest cannot measure its boot; a passed-through host TPM is shared
    with the host; an unencrypted emulator state is readable on the host."""
    devices = [] if spec.root is None else spec.root.findall("./devices/tpm")
    if not devices:
        if _is_hvm(spec):
            yield Hit("/domain/devices/tpm", "absent")
        return
    for device in devices:
        backend = device.find("backend")
        kind = None if backend is None else backend.get("type")
        if kind == "passthrough":
            yield Hit(
                "/domain/devices/tpm/backend",
                "type='passthrough' (host TPM)",
                severity=Severity.MEDIUM,
            )
        elif kind == "emulator" and backend is not None and backend.find("encryption") is None:
            yield Hit("/domain/devices/tpm/backend", "emulator state not encrypted")


LIBVIRT_PLATFORM_CHECKS: tuple[VmCheck, ...] = (
    confidential,
    memtune,
    cputune,
    io_limits,
    net_bandwidth,
    ksm,
    writable_base,
    secure_boot,
    tpm,
)
