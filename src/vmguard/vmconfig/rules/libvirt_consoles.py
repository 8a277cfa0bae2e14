"""libvirt domain rules over consoles and character devices: VNC/SPICE authentication,
listen addresses, TLS, clipboard and file transfer, and network-facing serial devices.

Each function's docstring is its rationale. Socket paths and addresses are evidence only.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element

from vmguard.findings import Severity, Threat
from vmguard.vmconfig.model import ConfigFormat, VmSpec
from vmguard.vmconfig.rules.model import WILDCARD_ADDRESSES, AuditContext, Hit, VmCheck, vm_rule

_LIBVIRT = (ConfigFormat.LIBVIRT,)
_DOCS = "libvirt formatdomain.rst"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _devices(spec: VmSpec, tag: str) -> list[Element]:
    return [] if spec.root is None else spec.root.findall(f"./devices/{tag}")


def _listen_addresses(graphics: Element) -> list[str | None]:
    """Addresses a graphics device listens on; None = TCP with the host's default address."""
    if graphics.get("socket") is not None:
        return []
    listens = graphics.findall("listen")
    if not listens:
        return [graphics.get("listen")]
    found: list[str | None] = []
    for listen in listens:
        kind = listen.get("type", "address")
        if kind == "address":
            found.append(listen.get("address", graphics.get("listen")))
        elif kind == "network":
            found.append(WILDCARD_ADDRESSES[1])  # a host network: assume every address
    return found


@vm_rule(
    "libvirt.vnc-nopass",
    title="A VNC/SPICE console listens on TCP without a password",
    severity=Severity.HIGH,
    threat=Threat.HOST_MONITORING,
    formats=_LIBVIRT,
    remediation="Set passwd (or SASL), or listen on a UNIX socket or 127.0.0.1 only.",
    references=(
        "KVM KVM-28",
        f"{_DOCS}: Graphical framebuffers",
        "libvirt qemu.conf.in vnc_listen",
    ),
)
def vnc_nopass(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """An unauthenticated console gives its screen and keyboard to anyone who connects."""
    for graphics in _devices(spec, "graphics"):
        kind = graphics.get("type")
        if kind not in ("vnc", "spice") or graphics.get("passwd"):
            continue
        for address in _listen_addresses(graphics):
            where = f"/domain/devices/graphics[@type='{kind}']"
            if address is None:
                yield Hit(
                    where,
                    "no passwd, listen address not set",
                    severity=Severity.MEDIUM,
                    host_dependent="qemu.conf vnc_listen/spice_listen (default 127.0.0.1) "
                    "and vnc_sasl decide who can connect",
                )
            elif address in _LOOPBACK:
                yield Hit(
                    where,
                    f"no passwd, listen {address!r} (any local user)",
                    severity=Severity.MEDIUM,
                )
            else:
                yield Hit(where, f"no passwd, listen {address!r}")


@vm_rule(
    "libvirt.graphics-listen",
    title="A graphical console listens on every host address",
    severity=Severity.HIGH,
    threat=Threat.HOST_MONITORING,
    formats=_LIBVIRT,
    remediation="Listen on 127.0.0.1 or a UNIX socket and tunnel remote access.",
    references=(
        "KVM KVM-28",
        f"{_DOCS}: Graphical framebuffers",
        "libvirt qemu.conf.in vnc_listen",
    ),
)
def graphics_listen(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A console bound to 0.0.0.0 is reachable from every network the host is on."""
    for graphics in _devices(spec, "graphics"):
        for address in _listen_addresses(graphics):
            if address is not None and address in WILDCARD_ADDRESSES:
                yield Hit(
                    f"/domain/devices/graphics[@type='{graphics.get('type')}']/listen",
                    f"listen address {address or '(every address)'!r}",
                )


@vm_rule(
    "libvirt.spice-tls",
    title="SPICE channels may run without TLS",
    severity=Severity.MEDIUM,
    threat=Threat.HOST_MONITORING,
    formats=_LIBVIRT,
    remediation="Set defaultMode='secure' with a tlsPort, and no channel mode='insecure'.",
    references=(f"{_DOCS}: Graphical framebuffers",),
)
def spice_tls(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """Unencrypted SPICE carries the screen, keyboard and clipboard in clear text."""
    for graphics in _devices(spec, "graphics"):
        if graphics.get("type") != "spice" or graphics.get("socket") is not None:
            continue
        if not _listen_addresses(graphics):
            continue
        if graphics.get("defaultMode", "any") != "secure":
            yield Hit(
                "/domain/devices/graphics[@type='spice']/@defaultMode",
                f"defaultMode={graphics.get('defaultMode', 'any (default)')!r}",
            )
        for channel in graphics.findall("channel"):
            if channel.get("mode") == "insecure":
                yield Hit(
                    "/domain/devices/graphics/channel", f"channel {channel.get('name')!r} insecure"
                )


def _has_spice_agent(spec: VmSpec) -> bool:
    return any(c.get("type") == "spicevmc" for c in _devices(spec, "channel"))


@vm_rule(
    "libvirt.spice-clipboard",
    title="Clipboard sharing between guest and client is on",
    severity=Severity.MEDIUM,
    threat=Threat.VM_COMMUNICATION,
    formats=_LIBVIRT,
    remediation="Add <clipboard copypaste='no'/> to SPICE graphics (and to qemu-vdagent).",
    references=(f"{_DOCS}: Graphical framebuffers; qemu-vdagent channel",),
)
def spice_clipboard(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A shared clipboard moves data between the guest and the console client's desktop."""
    agent = _has_spice_agent(spec)
    for graphics in _devices(spec, "graphics"):
        if graphics.get("type") != "spice" or not agent:
            continue
        clip = graphics.find("clipboard")
        if clip is None:
            yield Hit("/domain/devices/graphics[@type='spice']/clipboard", "absent (on by default)")
        elif clip.get("copypaste") == "yes":
            yield Hit("/domain/devices/graphics[@type='spice']/clipboard", "copypaste='yes'")
    for channel in _devices(spec, "channel"):
        clip = channel.find("./source/clipboard")
        vdagent = channel.get("type") == "qemu-vdagent"
        if vdagent and clip is not None and clip.get("copypaste") == "yes":
            yield Hit(
                "/domain/devices/channel[@type='qemu-vdagent']/source/clipboard",
                "copypaste='yes'",
            )


@vm_rule(
    "libvirt.spice-filexfer",
    title="File transfer from the SPICE client into the guest is on",
    severity=Severity.MEDIUM,
    threat=Threat.VM_COMMUNICATION,
    formats=_LIBVIRT,
    remediation="Add <filetransfer enable='no'/> to SPICE graphics.",
    references=(f"{_DOCS}: Graphical framebuffers",),
)
def spice_filexfer(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """File transfer drops files from the client machine into the guest."""
    if not _has_spice_agent(spec):
        return
    for graphics in _devices(spec, "graphics"):
        if graphics.get("type") != "spice":
            continue
        xfer = graphics.find("filetransfer")
        if xfer is None:
            yield Hit(
                "/domain/devices/graphics[@type='spice']/filetransfer", "absent (on by default)"
            )
        elif xfer.get("enable") == "yes":
            yield Hit("/domain/devices/graphics[@type='spice']/filetransfer", "enable='yes'")


@vm_rule(
    "libvirt.chardev-clear",
    title="A serial/console/channel device speaks clear text over the network",
    severity=Severity.MEDIUM,
    threat=Threat.HOST_MONITORING,
    formats=_LIBVIRT,
    remediation="Use a UNIX socket, or tcp with <source tls='yes'/>.",
    references=(f"{_DOCS}: TCP client/server; UDP network console",),
)
def chardev_clear(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A guest console over plain TCP, UDP or telnet can be read or driven from the network."""
    for tag in ("serial", "console", "channel", "parallel"):
        for dev in _devices(spec, tag):
            kind = dev.get("type")
            if kind not in ("tcp", "udp", "telnet", "telnets"):
                continue
            source = dev.find("source")
            protocol = dev.find("protocol")
            proto = None if protocol is None else protocol.get("type")
            tls = None if source is None else source.get("tls")
            if kind == "udp" or proto == "telnet" or tls == "no":
                yield Hit(
                    f"/domain/devices/{tag}[@type='{kind}']", f"type={kind!r} protocol={proto!r}"
                )
            elif tls is None:
                yield Hit(
                    f"/domain/devices/{tag}[@type='{kind}']",
                    f"type={kind!r} without source/@tls",
                    host_dependent="qemu.conf chardev_tls may turn TLS on for every TCP chardev",
                )


LIBVIRT_CONSOLE_CHECKS: tuple[VmCheck, ...] = (
    vnc_nopass,
    graphics_listen,
    spice_tls,
    spice_clipboard,
    spice_filexfer,
    chardev_clear,
)
