"""libvirt domain XML (and the test driver's ``<node>`` files) into ``VmSpec``s.

Disk sources, loaders, sockets and shared directories named in a domain are kept as data
and never opened.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from vmguard.vmconfig.libvirt_network import filter_spec, network_spec
from vmguard.vmconfig.model import (
    ConfigDocument,
    ConfigFormat,
    ConfigParseError,
    FilterSpec,
    NetworkSpec,
    Platform,
    VmSpec,
)
from vmguard.vmconfig.xmlsafe import text_of

MAX_DOMAINS_PER_FILE = 10_000


def domain_spec(root: Element, what: str) -> VmSpec:
    """One ``<domain>`` element as a VmSpec."""
    if root.tag != "domain":
        raise ConfigParseError(f"{what}: expected <domain>, found <{root.tag}>")
    name = text_of(root, "name") or text_of(root, "uuid") or "(unnamed domain)"
    driver = root.get("type", "")
    return VmSpec(
        name=name,
        format=ConfigFormat.LIBVIRT,
        platform=Platform.LIBVIRT,
        platform_source=f"libvirt domain type={driver!r}" if driver else "libvirt domain XML",
        root=root,
    )


def node_document(root: Element, path: str) -> ConfigDocument:
    """A libvirt test-driver node file: every domain, network and filter it holds."""
    vms: list[VmSpec] = []
    networks: list[NetworkSpec] = []
    filters: list[FilterSpec] = []
    skipped: dict[str, int] = {}
    for child in root:
        if child.tag == "domain":
            vms.append(domain_spec(child, path))
        elif child.tag == "network":
            networks.append(network_spec(child, path))
        elif child.tag == "filter":
            filters.append(filter_spec(child, path))
        elif child.tag in ("pool", "interface", "device"):
            skipped[child.tag] = skipped.get(child.tag, 0) + 1
        if len(vms) + len(networks) + len(filters) > MAX_DOMAINS_PER_FILE:
            raise ConfigParseError(f"{path}: more than {MAX_DOMAINS_PER_FILE} definitions")
    notes = tuple(f"{n} <{tag}> definition(s) not audited" for tag, n in sorted(skipped.items()))
    if not (vms or networks or filters):
        notes += ("node file defines no domain, network or filter: nothing to audit",)
    return ConfigDocument(path, tuple(vms), tuple(networks), tuple(filters), notes)


def snapshot_document(root: Element, path: str) -> ConfigDocument:
    """A ``<domainsnapshot>``: the domain definition it carries, if any."""
    inner = root.find("domain")
    if inner is None:
        return ConfigDocument(path, notes=("domain snapshot without a <domain>: nothing to audit",))
    return ConfigDocument(path, vms=(domain_spec(inner, path),))
