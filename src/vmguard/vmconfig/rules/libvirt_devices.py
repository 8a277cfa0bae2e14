"""libvirt domain rules over devices: confinement, consoles, channels, disks and NICs.

Each function's docstring is its rationale. Paths named in the domain (disk sources,
sockets, shared directories) are evidence only and never opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element

from vmguard.findings import Severity, Threat
from vmguard.vmconfig.model import ConfigFormat, VmSpec
from vmguard.vmconfig.rules.model import AuditContext, Hit, VmCheck, vm_rule

_LIBVIRT = (ConfigFormat.LIBVIRT,)
_DOCS = "libvirt formatdomain.rst"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _devices(spec: VmSpec, tag: str) -> list[Element]:
    return [] if spec.root is None else spec.root.findall(f"./devices/{tag}")


@vm_rule(
    "libvirt.seclabel",
    title="The QEMU process is not confined (security label off)",
    severity=Severity.HIGH,
    threat=Threat.VM_ESCAPE,
    formats=_LIBVIRT,
    remediation="Use <seclabel type='dynamic'/> (SELinux/AppArmor) and keep DAC relabelling.",
    references=(
        "KVM KVM-20",
        f"{_DOCS}: Security label",
    ),
)
def seclabel(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Without sVirt confinement an escaped guest gets every file the QEMU user can reach,
    including other guests' disks."""
    for label in [] if spec.root is None else spec.root.findall("./seclabel"):
        if label.get("type") == "none":
            yield Hit("/domain/seclabel/@type", "type='none'")
        elif label.get("model") == "dac" and label.get("relabel") == "no":
            yield Hit("/domain/seclabel[@model='dac']/@relabel", "relabel='no'")


@vm_rule(
    "libvirt.legacy-devices",
    title="Legacy emulated devices (floppy, sound, USB redirection) widen the attack surface",
    severity=Severity.MEDIUM,
    threat=Threat.VM_ESCAPE,
    formats=_LIBVIRT,
    remediation="Remove floppy, sound and unfiltered USB redirection; prefer the q35 machine.",
    references=("KVM KVM-33", "CVE-2015-3456 (VENOM)", f"{_DOCS}: Redirected devices"),
)
def legacy_devices(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Legacy device emulation (the floppy controller of VENOM, sound cards, USB redirection)
    is where guest-to-host escapes have been found."""
    for disk in _devices(spec, "disk"):
        if disk.get("device") == "floppy":
            yield Hit("/domain/devices/disk[@device='floppy']", "floppy disk attached")
    for sound in _devices(spec, "sound"):
        yield Hit(
            "/domain/devices/sound", f"sound model={sound.get('model')!r}", severity=Severity.LOW
        )
    if _devices(spec, "redirdev") and not _devices(spec, "redirfilter"):
        yield Hit("/domain/devices/redirdev", "USB redirection without a redirfilter")
    machine = None if spec.root is None else spec.root.find("./os/type")
    name = "" if machine is None else machine.get("machine", "")
    if name == "pc" or name.startswith("pc-i440fx"):
        yield Hit(
            "/domain/os/type/@machine",
            f"machine={name!r} (i440fx creates a floppy controller implicitly)",
            severity=Severity.LOW,
        )


@vm_rule(
    "libvirt.fs-passthrough",
    title="A host directory is shared into the guest writable",
    severity=Severity.HIGH,
    threat=Threat.VM_COMMUNICATION,
    formats=_LIBVIRT,
    remediation="Add <readonly/> to the filesystem, or remove it.",
    references=(
        "KVM KVM-34",
        f"{_DOCS}: Filesystems",
    ),
)
def fs_passthrough(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A writable 9p/virtiofs share lets the guest write into the host's filesystem."""
    for fs in _devices(spec, "filesystem"):
        if fs.get("type", "mount") != "mount" or fs.find("readonly") is not None:
            continue
        source = fs.find("source")
        target = fs.find("target")
        host_dir = None if source is None else source.get("dir")
        mount = None if target is None else target.get("dir")
        mode = fs.get("accessmode", "passthrough")
        yield Hit(
            "/domain/devices/filesystem", f"host dir {host_dir!r} -> {mount!r}, accessmode={mode!r}"
        )


@vm_rule(
    "libvirt.channels",
    title="A host-guest channel is configured",
    severity=Severity.LOW,
    threat=Threat.VM_COMMUNICATION,
    formats=_LIBVIRT,
    remediation="Keep only the channels that are needed (guest agent, spicevmc, guestfwd, shmem).",
    references=(f"{_DOCS}: Channel; Shared memory device",),
)
def channels(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Host-guest channels and shared memory are data paths that bypass the network."""
    for channel in _devices(spec, "channel"):
        target = channel.find("target")
        kind = "" if target is None else target.get("type", "")
        name = "" if target is None else target.get("name", "")
        if kind == "guestfwd":
            yield Hit(
                "/domain/devices/channel/target[@type='guestfwd']",
                "guestfwd channel",
                severity=Severity.MEDIUM,
            )
        elif channel.get("type") == "spicevmc" or name == "org.qemu.guest_agent.0":
            yield Hit("/domain/devices/channel", f"channel {channel.get('type')!r} {name!r}")
    for shmem in _devices(spec, "shmem"):
        yield Hit("/domain/devices/shmem", f"shmem {shmem.get('name')!r}")


@vm_rule(
    "libvirt.disk-encryption",
    title="A disk is not encrypted",
    severity=Severity.MEDIUM,
    threat=Threat.HOST_MONITORING,
    formats=_LIBVIRT,
    remediation="Use LUKS-encrypted volumes (<encryption format='luks'>).",
    references=(f"{_DOCS}: Hard drives; formatstorageencryption.rst",),
)
def disk_encryption(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """An unencrypted disk image is readable by anyone who can read it on the host or
    storage."""
    for disk in _devices(spec, "disk"):
        if disk.get("device", "disk") != "disk" or disk.find("source") is None:
            continue
        if disk.find("encryption") is None and disk.find("./source/encryption") is None:
            target = disk.find("target")
            dev = None if target is None else target.get("dev")
            yield Hit(
                f"/domain/devices/disk[target/@dev='{dev}']",
                "no <encryption>",
                host_dependent="the host's storage may be encrypted below the image",
            )


@vm_rule(
    "libvirt.disk-net-tls",
    title="A network disk is reached without verified TLS",
    severity=Severity.MEDIUM,
    threat=Threat.HOST_MONITORING,
    formats=_LIBVIRT,
    remediation="Use tls='yes' for NBD/VxHS, https with verification for HTTP sources.",
    references=(f"{_DOCS}: Hard drives (network sources)",),
)
def disk_net_tls(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Disk traffic in clear text can be read or altered on the network."""
    for disk in _devices(spec, "disk"):
        source = disk.find("source")
        if disk.get("type") != "network" or source is None:
            continue
        protocol = source.get("protocol", "")
        ssl = source.find("ssl")
        if protocol in ("nbd", "vxhs") and source.get("tls") != "yes":
            yield Hit("/domain/devices/disk/source", f"protocol={protocol!r} without tls='yes'")
        elif protocol in ("http", "ftp", "tftp"):
            yield Hit("/domain/devices/disk/source", f"protocol={protocol!r} (clear text)")
        if ssl is not None and ssl.get("verify") == "no":
            yield Hit("/domain/devices/disk/source/ssl", "verify='no'")


@vm_rule(
    "libvirt.nwfilter-missing",
    title="A NIC has no anti-spoofing network filter",
    severity=Severity.HIGH,
    threat=Threat.VM_MONITORING,
    formats=_LIBVIRT,
    remediation="Add <filterref filter='clean-traffic'/> to the interface.",
    references=("KVM KVM-31", f"{_DOCS}: Network interfaces", "libvirt formatnwfilter.rst"),
)
def nwfilter_missing(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Without a filter the guest can forge MAC, IP and ARP and redirect other guests'
    traffic."""
    for nic in _devices(spec, "interface"):
        kind = nic.get("type")
        if kind in ("bridge", "network", "ethernet") and nic.find("filterref") is None:
            mac = nic.find("mac")
            shown_mac = "" if mac is None else f" mac {mac.get('address')}"
            yield Hit(f"/domain/devices/interface[@type='{kind}']", f"no filterref{shown_mac}")


@vm_rule(
    "libvirt.port-isolated",
    title="A NIC on a shared bridge is not port-isolated",
    severity=Severity.LOW,
    threat=Threat.VM_MONITORING,
    formats=_LIBVIRT,
    remediation="Add <port isolated='yes'/> to the interface (or to the network).",
    references=(f"{_DOCS}: Network interfaces (6.1.0)",),
)
def port_isolated(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Guests on the same bridge can reach each other directly unless ports are isolated."""
    for nic in _devices(spec, "interface"):
        kind = nic.get("type")
        port = nic.find("port")
        if kind in ("bridge", "network") and (port is None or port.get("isolated") != "yes"):
            yield Hit(
                f"/domain/devices/interface[@type='{kind}']/port",
                "no port isolated='yes'",
                host_dependent="the libvirt network may isolate all its ports",
            )


LIBVIRT_DEVICE_CHECKS: tuple[VmCheck, ...] = (
    seclabel,
    legacy_devices,
    fs_passthrough,
    channels,
    disk_encryption,
    disk_net_tls,
    nwfilter_missing,
    port_isolated,
)
