"""VirtualBox rules that need more than one attribute comparison.

Each function's docstring is its rationale. Host paths (shared folders, pipes, media) are
evidence only; the teleporter password is redacted.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element

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

_VBOX = (ConfigFormat.VBOX,)
_XSD = "VirtualBox-settings.xsd"


def machine(spec: VmSpec) -> Element | None:
    """The ``<Machine>`` element: the root of a .vbox, or embedded in a VirtualBox OVF."""
    if spec.root is None:
        return None
    return spec.root if spec.format is ConfigFormat.VBOX else spec.root.find(".//Machine")


def _hw(spec: VmSpec, path: str) -> list[Element]:
    root = machine(spec)
    return [] if root is None else root.findall(f"./Hardware/{path}")


def _true(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1", "yes")


@vm_rule(
    "vbox.clipboard",
    title="The shared clipboard is enabled",
    severity=Severity.MEDIUM,
    threat=Threat.VM_COMMUNICATION,
    formats=_VBOX,
    remediation="Set Clipboard mode='Disabled' (the default) and no file transfers.",
    references=(
        "VBOX VBOX-01",
        f"{_XSD}: TClipboard",
    ),
)
def clipboard(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A shared clipboard moves data (and with file transfers, files) across the boundary."""
    for clip in _hw(spec, "Clipboard"):
        if clip.get("mode", "Disabled") != "Disabled":
            yield Hit("Hardware/Clipboard/@mode", f"mode={clip.get('mode')!r}")
        if _true(clip.get("fileTransfersEnabled")):
            yield Hit("Hardware/Clipboard/@fileTransfersEnabled", "true")


@vm_rule(
    "vbox.dnd",
    title="Drag and drop between host and guest is enabled",
    severity=Severity.MEDIUM,
    threat=Threat.VM_COMMUNICATION,
    formats=_VBOX,
    remediation="Set DragAndDrop mode='Disabled' (the default).",
    references=(
        "VBOX VBOX-02",
        f"{_XSD}: TDragAndDrop",
    ),
)
def dnd(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Drag and drop copies files across the guest/host boundary."""
    for item in _hw(spec, "DragAndDrop"):
        if item.get("mode", "Disabled") != "Disabled":
            yield Hit("Hardware/DragAndDrop/@mode", f"mode={item.get('mode')!r}")


@vm_rule(
    "vbox.sharedfolder",
    title="A host folder is shared with the guest",
    severity=Severity.HIGH,
    threat=Threat.VM_COMMUNICATION,
    formats=_VBOX,
    remediation="Remove the shared folder, or set writable='false' and symlinkPolicy='forbidden'.",
    references=(
        "VBOX VBOX-03",
        f"{_XSD}: TSharedFolder",
    ),
)
def sharedfolder(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A writable shared folder lets the guest plant files on the host (writable is the
    default)."""
    for folder in _hw(spec, "SharedFolders/SharedFolder"):
        desc = f"{folder.get('name')!r} -> host {folder.get('hostPath')!r}"
        if (folder.get("writable") or "true").lower() == "true":
            yield Hit("Hardware/SharedFolders/SharedFolder", f"{desc} writable")
        else:
            yield Hit(
                "Hardware/SharedFolders/SharedFolder", f"{desc} read-only", severity=Severity.LOW
            )


@vm_rule(
    "vbox.vrde",
    title="The remote display (VRDE) is on without authentication or TLS",
    severity=Severity.HIGH,
    threat=Threat.HOST_MONITORING,
    formats=_VBOX,
    remediation="Disable VRDE, or use authType External/Guest, TLS, and a loopback address.",
    references=(
        "VBOX VBOX-04",
        f"{_XSD}: TRemoteDisplay",
    ),
)
def vrde(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """An unauthenticated remote display gives the screen and keyboard to the network."""
    for display in _hw(spec, "RemoteDisplay"):
        if not _true(display.get("enabled")):
            continue
        props = {p.get("name"): p.get("value", "") for p in display.iter("Property")}
        auth = display.get("authType", "Null")
        address = props.get("TCP/Address", "")
        if auth == "Null":
            yield Hit("Hardware/RemoteDisplay/@authType", f"authType={auth!r}")
        elif props.get("Security/Method", "").upper() != "TLS":
            yield Hit(
                "Hardware/RemoteDisplay", "no TLS (Security/Method)", severity=Severity.MEDIUM
            )
        if address in WILDCARD_ADDRESSES:
            yield Hit(
                "Hardware/RemoteDisplay/VRDEProperties/Property[@name='TCP/Address']",
                f"{address or '(empty: every host address)'}",
            )


@vm_rule(
    "vbox.cleartext",
    title="A password or packet trace is stored in clear",
    severity=Severity.MEDIUM,
    threat=Threat.HOST_MONITORING,
    formats=_VBOX,
    remediation="Remove Teleporter/@password and NIC tracing.",
    references=(
        "VBOX VBOX-06: Teleporter",
        "VBOX VBOX-17: trace",
        f"{_XSD}: TTeleporter, TNetworkAdapter",
    ),
)
def cleartext(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A teleporter password in the settings, or a pcap trace of the NIC, is readable by
    anyone who can read the host files."""
    root = machine(spec)
    teleporter = None if root is None else root.find("./Teleporter")
    if teleporter is not None and teleporter.get("password"):
        yield Hit("Teleporter/@password", redact(teleporter.get("password") or ""))
    for nic in _hw(spec, "Network/Adapter"):
        if _true(nic.get("trace")):
            yield Hit(
                "Hardware/Network/Adapter/@trace",
                f"slot {nic.get('slot')} traced to {nic.get('traceFile')!r}",
            )


@vm_rule(
    "vbox.encryption",
    title="A disk is not encrypted",
    severity=Severity.MEDIUM,
    threat=Threat.HOST_MONITORING,
    formats=_VBOX,
    remediation="Encrypt the VM's disks (VBoxManage encryptmedium / encryptvm).",
    references=(
        "VBOX VBOX-08",
        "VirtualBox manual: disk image encryption",
    ),
)
def encryption(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """An unencrypted disk image is readable by anyone who can read it on the host."""
    root = machine(spec)
    if root is None or root.find(".//MachineEncrypted") is not None:
        return
    for disk in root.findall("./MediaRegistry/HardDisks/HardDisk"):
        keys = {p.get("name") for p in disk.findall("Property")}
        if "CRYPT/KeyStore" not in keys:
            yield Hit(
                "MediaRegistry/HardDisks/HardDisk",
                f"{disk.get('location')!r} without CRYPT/KeyStore",
                host_dependent="the host's storage may be encrypted below the image",
            )


@vm_rule(
    "vbox.nat-expose",
    title="NAT port forwarding binds every host address",
    severity=Severity.MEDIUM,
    threat=Threat.VM_COMMUNICATION,
    formats=_VBOX,
    remediation="Give each forwarding rule hostip='127.0.0.1' (or a specific address).",
    references=(
        "VBOX VBOX-15",
        f"{_XSD}: TNATForwarding",
        "VirtualBox manual: NAT port forwarding",
    ),
)
def nat_expose(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A forwarding rule without a host IP exposes the guest service on every host network;
    localhost-reachable lets the guest reach host loopback services."""
    for nat in _hw(spec, "Network/Adapter/NAT"):
        for rule in nat.findall("Forwarding"):
            if not rule.get("hostip") or rule.get("hostip") in WILDCARD_ADDRESSES:
                yield Hit(
                    "Hardware/Network/Adapter/NAT/Forwarding",
                    f"{rule.get('name')!r} hostport {rule.get('hostport')} on every host address",
                )
        if _true(nat.get("localhost-reachable")):
            yield Hit("Hardware/Network/Adapter/NAT/@localhost-reachable", "true")


@vm_rule(
    "vbox.limits",
    title="No CPU execution cap or I/O bandwidth groups",
    severity=Severity.LOW,
    threat=Threat.DENIAL_OF_SERVICE,
    formats=_VBOX,
    remediation="Set CPU executionCap below 100 and assign disks/NICs to bandwidth groups.",
    references=("VirtualBox Settings.cpp executionCap", f"{_XSD}: TBandwidthGroup"),
)
def limits(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A VM without caps can take all host CPU and I/O from its neighbours."""
    root = machine(spec)
    if root is None:
        return
    cpus = root.findall("./Hardware/CPU") + root.findall("./Hardware/Platform/CPU")
    caps = [c.get("executionCap") for c in cpus if c.get("executionCap")]
    if not caps or all(c == "100" for c in caps):
        yield Hit("Hardware/CPU/@executionCap", f"{caps[0] if caps else 'absent'} (100%)")
    if root.find("./Hardware/IO/BandwidthGroups/BandwidthGroup") is None:
        yield Hit("Hardware/IO/BandwidthGroups", "no bandwidth groups")


@vm_rule(
    "vbox.spectre",
    title="Speculative-execution mitigations are off",
    severity=Severity.LOW,
    threat=Threat.GUEST_TO_GUEST,
    formats=_VBOX,
    remediation="Enable IBPBOn (vmexit/vmentry), SpecCtrl, L1DFlushOn and MDSClearOn.",
    references=(
        "VBOX VBOX-09: L1DFlushOn",
        "VBOX VBOX-10: MDSClearOn",
        "VBOX VBOX-11: IBPBOn",
        "VBOX VBOX-12: SpecCtrl",
        f"{_XSD}: TCPUX86",
    ),
)
def spectre(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Without flushes on VM exit and entry a guest can read other guests' data through
    speculative side channels (L1TF needs the L1D flush, MDS the buffer clear)."""
    root = machine(spec)
    if root is None:
        return
    for cpu in root.findall("./Hardware/CPU") + root.findall("./Hardware/Platform/x86/CPU"):
        ibpb = cpu.find("IBPBOn")
        if ibpb is None or not (_true(ibpb.get("vmexit")) or _true(ibpb.get("vmentry"))):
            yield Hit(
                "Hardware/CPU/IBPBOn",
                "absent or off",
                host_dependent="VirtualBox applies some flushes by default on affected host CPUs",
            )
        spec_ctrl = cpu.find("SpecCtrl")
        if spec_ctrl is not None and not _true(spec_ctrl.get("enabled")):
            yield Hit("Hardware/CPU/SpecCtrl", "enabled='false'")
        for flush in ("L1DFlushOn", "MDSClearOn"):
            found = cpu.find(flush)
            # scheduling defaults to on; VirtualBox writes the element only when changed
            off = found is not None and found.get("scheduling", "true").lower() == "false"
            if off and found is not None and not _true(found.get("vmentry")):
                yield Hit(f"Hardware/CPU/{flush}", "scheduling='false', vmentry off")


@vm_rule(
    "vbox.legacy",
    title="Legacy or risky emulated hardware is enabled",
    severity=Severity.MEDIUM,
    threat=Threat.VM_ESCAPE,
    formats=_VBOX,
    remediation="Remove the floppy controller, 3D acceleration, nested virtualization and "
    "serial ports attached to host TCP or pipes.",
    references=(
        "VBOX VBOX-18: NestedHWVirt",
        "VBOX VBOX-18: accelerate3D",
        f"{_XSD}: TStorageController, TDisplay, TUARTPort",
        "CVE-2015-3456 (VENOM)",
    ),
)
def legacy(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """The floppy controller, 3D acceleration and nested virtualization are large emulation
    surfaces; a serial port on a host socket or pipe is an extra channel to the host."""
    for ctl in _hw(spec, "StorageControllers/StorageController"):
        if ctl.get("type") == "I82078":
            yield Hit("StorageController[@type='I82078']", f"floppy controller {ctl.get('name')!r}")
    for display in _hw(spec, "Display"):
        if _true(display.get("accelerate3D")):
            yield Hit("Hardware/Display/@accelerate3D", "true", severity=Severity.LOW)
    root = machine(spec)
    for nested in [] if root is None else root.iterfind("./Hardware//NestedHWVirt"):
        if _true(nested.get("enabled")) or nested.text == "true":
            yield Hit("Hardware/CPU/NestedHWVirt", "enabled")
    for port in _hw(spec, "UART/Port"):
        if _true(port.get("enabled")) and port.get("hostMode") in ("TCP", "HostPipe"):
            yield Hit(
                "Hardware/UART/Port/@hostMode", f"slot {port.get('slot')} {port.get('hostMode')}"
            )


@vm_rule(
    "vbox.firmware",
    title="BIOS firmware (no Secure Boot) or no TPM",
    severity=Severity.MEDIUM,
    threat=Threat.HYPERVISOR_MODIFICATION,
    formats=_VBOX,
    remediation="Use EFI firmware with Secure Boot and a v2_0 TrustedPlatformModule.",
    references=(f"{_XSD}: TFirmware, TTrustedPlatformModule",),
)
def firmware(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Legacy BIOS cannot verify the boot chain; without a TPM boot cannot be measured."""
    root = machine(spec)
    if root is None:
        return
    fw = root.find("./Hardware/Firmware")
    if fw is None:
        fw = root.find("./Hardware/Platform/Firmware")
    kind = "BIOS" if fw is None else fw.get("type", "BIOS")
    if not kind.upper().startswith("EFI"):
        yield Hit("Hardware/Firmware/@type", f"{kind} (no Secure Boot possible)")
    tpm = root.find(".//TrustedPlatformModule")
    if tpm is None or tpm.get("type", "None") in ("None", "Host"):
        shown = "absent" if tpm is None else f"type={tpm.get('type')!r}"
        yield Hit("Hardware/TrustedPlatformModule", shown, severity=Severity.LOW)


VBOX_CHECKS: tuple[VmCheck, ...] = (
    clipboard,
    dnd,
    sharedfolder,
    vrde,
    cleartext,
    encryption,
    nat_expose,
    limits,
    spectre,
    legacy,
    firmware,
)
