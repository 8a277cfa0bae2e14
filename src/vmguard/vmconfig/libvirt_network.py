"""libvirt virtual network and nwfilter XML into ``NetworkSpec`` and ``FilterSpec``.

Bridges, devices and scripts named in these definitions are data; nothing is looked up
on the host.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from vmguard.vmconfig.model import ConfigParseError, FilterSpec, NetworkSpec
from vmguard.vmconfig.xmlsafe import text_of


def network_spec(root: Element, what: str) -> NetworkSpec:
    """One ``<network>`` element."""
    if root.tag != "network":
        raise ConfigParseError(f"{what}: expected <network>, found <{root.tag}>")
    return NetworkSpec(text_of(root, "name") or "(unnamed network)", root)


def filter_spec(root: Element, what: str) -> FilterSpec:
    """One ``<filter>`` element."""
    if root.tag != "filter":
        raise ConfigParseError(f"{what}: expected <filter>, found <{root.tag}>")
    return FilterSpec(root.get("name") or "(unnamed filter)", root)
