"""libvirt virtual network (``lvnet.``) and network filter (``nwfilter.``) rules.

Each function's docstring is its rationale. Bridge and device names are data; nothing is
looked up on the host.
"""

from __future__ import annotations

from collections.abc import Iterator

from vmguard.findings import Severity, Threat
from vmguard.vmconfig.model import FilterSpec, NetworkSpec
from vmguard.vmconfig.rules.model import (
    FilterCheck,
    Hit,
    NetworkCheck,
    filter_rule,
    network_rule,
)

_NET_DOCS = "libvirt formatnetwork.rst"
_FILTER_DOCS = "libvirt formatnwfilter.rst; src/nwfilter/xml/clean-traffic.xml"
_ANTI_SPOOF = {"clean-traffic", "no-mac-spoofing", "no-ip-spoofing", "no-arp-spoofing"}
_BUILTIN = {
    "allow-arp", "allow-dhcp", "allow-dhcp-server", "allow-dhcpv6", "allow-dhcpv6-server",
    "allow-incoming-ipv4", "allow-incoming-ipv6", "allow-ipv4", "allow-ipv6",
    "clean-traffic", "clean-traffic-gateway", "no-arp-ip-spoofing", "no-arp-mac-spoofing",
    "no-arp-spoofing", "no-ip-multicast", "no-ip-spoofing", "no-ipv6-multicast",
    "no-ipv6-spoofing", "no-mac-broadcast", "no-mac-spoofing", "no-other-l2-traffic",
    "no-other-rarp-traffic", "qemu-announce-self", "qemu-announce-self-rarp",
}  # fmt: skip
_FLAT_MODES = ("open", "bridge", "passthrough", "private", "vepa", "hostdev")


@network_rule(
    "lvnet.forward",
    title="The network forwards without host firewalling (open or flat L2)",
    severity=Severity.MEDIUM,
    threat=Threat.VM_MONITORING,
    remediation="Use forward mode nat or route, and filter guest interfaces.",
    references=(f"{_NET_DOCS}: Connectivity",),
)
def forward(network: NetworkSpec) -> Iterator[Hit]:
    """Open and bridged networks put guests on a segment the host does not police."""
    fwd = network.root.find("forward")
    if fwd is not None and fwd.get("mode") in _FLAT_MODES:
        yield Hit("/network/forward/@mode", f"mode={fwd.get('mode')!r}")


@network_rule(
    "lvnet.trust-rx",
    title="The network trusts guests' receive filters",
    severity=Severity.MEDIUM,
    threat=Threat.VM_MONITORING,
    remediation="Remove trustGuestRxFilters='yes' from the network and its portgroups.",
    references=(f"{_NET_DOCS}: General metadata; portgroup",),
)
def trust_rx(network: NetworkSpec) -> Iterator[Hit]:
    """Guests that may reprogram their receive filters can capture others' traffic."""
    if network.root.get("trustGuestRxFilters") == "yes":
        yield Hit("/network/@trustGuestRxFilters", "yes")
    for group in network.root.findall("portgroup"):
        if group.get("trustGuestRxFilters") == "yes":
            yield Hit("/network/portgroup/@trustGuestRxFilters", f"portgroup {group.get('name')!r}")


@network_rule(
    "lvnet.isolation",
    title="Guests on the network can reach each other directly",
    severity=Severity.LOW,
    threat=Threat.VM_MONITORING,
    remediation="Add <port isolated='yes'/> to the network.",
    references=(f"{_NET_DOCS}: Isolating ports (6.1.0)",),
)
def isolation(network: NetworkSpec) -> Iterator[Hit]:
    """Without port isolation one guest can talk to (and probe) every other on the bridge."""
    fwd = network.root.find("forward")
    mode = "isolated" if fwd is None else fwd.get("mode", "nat")
    if mode in ("hostdev", "passthrough", "private", "vepa", "open"):
        return
    port = network.root.find("port")
    if port is None or port.get("isolated") != "yes":
        yield Hit("/network/port/@isolated", f"absent (forward mode {mode!r})")


@network_rule(
    "lvnet.qos",
    title="The network has no bandwidth limit",
    severity=Severity.LOW,
    threat=Threat.DENIAL_OF_SERVICE,
    remediation="Add <bandwidth> inbound/outbound limits to the network.",
    references=(f"{_NET_DOCS}: Quality of service",),
)
def qos(network: NetworkSpec) -> Iterator[Hit]:
    """One guest can saturate a network that has no limits."""
    if network.root.find("bandwidth") is None:
        yield Hit("/network/bandwidth", "absent")


@filter_rule(
    "nwfilter.weak",
    title="A custom network filter does not stop spoofing or accepts everything",
    severity=Severity.MEDIUM,
    threat=Threat.VM_MONITORING,
    remediation="Reference clean-traffic (or no-mac/ip/arp-spoofing) and give accept rules a "
    "match.",
    references=(_FILTER_DOCS,),
)
def weak_filter(nwfilter: FilterSpec) -> Iterator[Hit]:
    """A root-chain filter without anti-spoofing lets guests forge addresses; an accept rule
    without a match lets everything through."""
    root = nwfilter.root
    for rule in root.findall("rule"):
        if rule.get("action") == "accept" and len(rule) == 0:
            yield Hit(
                "/filter/rule[@action='accept']", f"accept with no match ({rule.get('direction')})"
            )
    if nwfilter.name in _BUILTIN or root.get("chain", "root") != "root":
        return
    refs = {ref.get("filter") for ref in root.findall("filterref")}
    if not refs & _ANTI_SPOOF:
        yield Hit("/filter/filterref", "no clean-traffic or no-*-spoofing reference")


NETWORK_CHECKS: tuple[NetworkCheck, ...] = (forward, trust_rx, isolation, qos)
FILTER_CHECKS: tuple[FilterCheck, ...] = (weak_filter,)
