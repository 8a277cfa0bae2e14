"""VirtualBox ``.vbox`` machine settings into a ``VmSpec``.

Media locations, shared-folder host paths and pipe names in the settings are data; none is
opened.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from vmguard.vmconfig.model import ConfigFormat, ConfigParseError, Platform, VmSpec


def machine_spec(machine: Element, source: str, fmt: ConfigFormat = ConfigFormat.VBOX) -> VmSpec:
    """One ``<Machine>`` element (from a .vbox, or embedded in an OVF) as a VmSpec."""
    return VmSpec(
        name=machine.get("name") or machine.get("uuid") or "(unnamed machine)",
        format=fmt,
        platform=Platform.VIRTUALBOX,
        platform_source=source,
        root=machine,
    )


def vbox_spec(root: Element, what: str) -> VmSpec:
    """A parsed .vbox document (root ``<VirtualBox>``) as a VmSpec."""
    if root.tag != "VirtualBox":
        raise ConfigParseError(f"{what}: expected <VirtualBox>, found <{root.tag}>")
    machine = root.find("Machine")
    if machine is None:
        raise ConfigParseError(f"{what}: VirtualBox settings without a <Machine>")
    version = root.get("version", "unknown")
    return machine_spec(machine, f"VirtualBox settings version {version}")
