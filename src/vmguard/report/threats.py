"""What each threat class means, as data: one place that the console and HTML reports share.

The first eight classes are the sections of the virtualization-security survey DESIGN.md
follows (V.A to V.H); the last four are what images themselves leak and carry. Keep the
wording here and the table in DESIGN.md saying the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from vmguard.findings import Threat


@dataclass(frozen=True, slots=True)
class ThreatInfo:
    """How a report names and explains one threat class."""

    threat: Threat
    label: str
    """Short human name ("VM escape")."""
    section: str
    """The survey section ("V.B"), or "" for the image classes vmguard adds."""
    summary: str
    """One sentence: what the class is about."""
    examples: str
    """What vmguard looks for in this class."""


THREATS: tuple[ThreatInfo, ...] = (
    ThreatInfo(
        Threat.VM_COMMUNICATION,
        "Communication between VMs and host",
        "V.A",
        "Data crossing channels that join a guest to the host or to other guests.",
        "Shared clipboard, drag and drop, shared folders, host-guest channels, "
        "keystroke and screen capture.",
    ),
    ThreatInfo(
        Threat.VM_ESCAPE,
        "VM escape",
        "V.B",
        "Attack surface that lets code in a guest break out into the hypervisor.",
        "Legacy emulated devices, device passthrough, missing sandboxing, a VMM running as root.",
    ),
    ThreatInfo(
        Threat.HOST_MONITORING,
        "Monitoring from the host",
        "V.C",
        "What the host, or anyone on it, can read or change inside a VM.",
        "Unencrypted disks, world-readable image files, open or unauthenticated consoles.",
    ),
    ThreatInfo(
        Threat.VM_MONITORING,
        "Monitoring from another VM",
        "V.D",
        "One guest sniffing or redirecting another guest's network traffic.",
        "Promiscuous mode, MAC, ARP and IP spoofing allowed on shared networks.",
    ),
    ThreatInfo(
        Threat.DENIAL_OF_SERVICE,
        "Denial of service",
        "V.E",
        "One guest exhausting resources that other guests share.",
        "No limits on CPU, memory, disk I/O or network bandwidth.",
    ),
    ThreatInfo(
        Threat.GUEST_TO_GUEST,
        "Guest-to-guest attacks",
        "V.F",
        "Hopping from one VM to another.",
        "Keys and credentials shared across images, memory-sharing side channels.",
    ),
    ThreatInfo(
        Threat.VM_MODIFICATION,
        "External modification of a VM",
        "V.G",
        "Tampering with a VM or its image while it is stored or moved.",
        "Missing or broken signatures, content that changed since it was signed.",
    ),
    ThreatInfo(
        Threat.HYPERVISOR_MODIFICATION,
        "External modification of the hypervisor",
        "V.H",
        "Tampering with the hypervisor itself.",
        "Modified hypervisor binaries or configuration, no secure or measured boot.",
    ),
    ThreatInfo(
        Threat.IMAGE_EXPOSURE,
        "Image exposure",
        "",
        "Sensitive data shipped inside an image, readable by anyone who gets a copy.",
        "Private keys, cloud credentials, tokens, shell histories, deleted remnants.",
    ),
    ThreatInfo(
        Threat.MALWARE,
        "Malware",
        "",
        "Malicious or unwanted software inside an image.",
        "Rootkit files, web shells, miners and other YARA matches.",
    ),
    ThreatInfo(
        Threat.VULNERABLE_SOFTWARE,
        "Vulnerable software",
        "",
        "Installed packages with known, published vulnerabilities.",
        "Packages matched against imported OSV advisories.",
    ),
    ThreatInfo(
        Threat.WEAK_CONFIGURATION,
        "Weak guest configuration",
        "",
        "Insecure settings of the guest operating system.",
        "Empty or weak passwords, root SSH logins, permissive sudo, loose file permissions.",
    ),
)

_BY_THREAT = {info.threat: info for info in THREATS}


def threat_info(threat: Threat) -> ThreatInfo:
    """The explanation of one threat class (every class has one)."""
    return _BY_THREAT[threat]


def threat_order(threat: Threat) -> int:
    """Position of a class in ``THREATS``: survey order first, then the image classes."""
    return THREATS.index(_BY_THREAT[threat])
