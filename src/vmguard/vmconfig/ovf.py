"""OVF descriptors and OVA packages into ``VmSpec``s.

An OVA is read in place through ``disk.containers.ova`` (never extracted). For a bare
``.ovf`` the only host lookups are ``stat`` calls for the package's own manifest and
certificate (same stem, ``.mf``/``.cert``); file references inside the descriptor are data
and never opened. Property values may be secrets: they are carried, and every rule that
shows one redacts it.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element

from vmguard.disk.containers.ova import open_ova
from vmguard.disk.containers.tar import REGULAR, read_tar_index
from vmguard.disk.errors import DiskError
from vmguard.disk.source import FileSource
from vmguard.vmconfig.model import (
    ConfigDocument,
    ConfigFormat,
    ConfigParseError,
    OvfProperty,
    Platform,
    Setting,
    VmSpec,
)
from vmguard.vmconfig.vmx import hardware_version
from vmguard.vmconfig.xmlsafe import parse_xml, text_of

MAX_OVA_MEMBERS = 10_000
MAX_VIRTUAL_SYSTEMS = 1_000

# vSphere ConfigSpec properties (vmw:Config) that mean the same as a .vmx key.
_CONFIG_TO_VMX = {
    "firmware": "firmware",
    "bootoptions.efisecurebootenabled": "uefi.secureBoot.enabled",
    "nestedhvenabled": "vhv.enable",
    "flags.vbsenabled": "vbs.enable",
}


def _properties(section_owner: Element) -> list[OvfProperty]:
    found: list[OvfProperty] = []
    for section in section_owner.findall("ProductSection"):
        for prop in section.iter("Property"):
            key = prop.get("key") or ""
            value = prop.get("value")
            found.append(
                OvfProperty(key, value, (prop.get("password") or "").lower() in ("true", "1"))
            )
    return found


def _settings(system: Element) -> dict[str, Setting]:
    settings: dict[str, Setting] = {}
    for hardware in system.findall("VirtualHardwareSection"):
        for child in hardware:
            subtype = child.find("ResourceSubType")
            if subtype is not None and (subtype.text or "").strip() == "vmware.vtpm":
                settings["vtpm.present"] = Setting("Item vmware.vtpm", "TRUE")
            key, value = child.get("key"), child.get("value")
            if key is None or value is None:
                continue
            if child.tag == "ExtraConfig":
                settings[key.lower()] = Setting(key, value)
            elif child.tag == "Config" and key.lower() in _CONFIG_TO_VMX:
                vmx_key = _CONFIG_TO_VMX[key.lower()]
                settings[vmx_key.lower()] = Setting(f"vmw:Config {key}", value)
    return settings


def _platform(system: Element, settings: dict[str, Setting]) -> tuple[Platform | None, str]:
    if system.find(".//Machine") is not None:
        return Platform.VIRTUALBOX, "OVF embeds a VirtualBox <vbox:Machine>"
    types = [t.text or "" for t in system.iter("VirtualSystemType")]
    vmware = [t for t in types if "vmx-" in t]
    if vmware:
        return Platform.ESXI, f"VirtualSystemType {vmware[0].strip()!r} (vSphere deployment)"
    if settings:
        return Platform.ESXI, "vmw:ExtraConfig present (vSphere deployment)"
    return None, ""


def _hardware_version(system: Element) -> int | None:
    """The lowest ``vmx-NN`` the VirtualSystemType names: the deployment may pick it."""
    found = [
        hardware_version(word)
        for t in system.iter("VirtualSystemType")
        for word in (t.text or "").replace(",", " ").split()
        if word.lower().startswith("vmx-")
    ]
    versions = [v for v in found if v is not None]
    return min(versions) if versions else None


def _systems(root: Element) -> list[tuple[Element, list[OvfProperty]]]:
    """Every VirtualSystem, with collection-level properties given to a collection's first."""
    result: list[tuple[Element, list[OvfProperty]]] = []

    def walk(node: Element, inherited: list[OvfProperty]) -> None:
        for child in node:
            if child.tag == "VirtualSystem":
                result.append((child, inherited + _properties(child)))
                inherited = []
            elif child.tag == "VirtualSystemCollection":
                walk(child, _properties(child))
            if len(result) > MAX_VIRTUAL_SYSTEMS:
                raise ConfigParseError(f"more than {MAX_VIRTUAL_SYSTEMS} VirtualSystems")

    walk(root, [])
    return result


def ovf_document(descriptor: bytes, path: str, signed: bool) -> ConfigDocument:
    """Every VirtualSystem of an OVF descriptor."""
    root = parse_xml(descriptor, path)
    if root.tag != "Envelope":
        raise ConfigParseError(f"{path}: expected an OVF <Envelope>, found <{root.tag}>")
    specs: list[VmSpec] = []
    for system, properties in _systems(root):
        settings = _settings(system)
        platform, why = _platform(system, settings)
        name = system.get("id") or text_of(system, "Name") or "(unnamed VirtualSystem)"
        specs.append(
            VmSpec(
                name=name,
                format=ConfigFormat.OVF,
                platform=platform,
                platform_source=why,
                settings=settings,
                root=system,
                properties=tuple(properties),
                signed_package=signed,
                hardware_version=_hardware_version(system),
            )
        )
    notes = () if specs else ("OVF descriptor defines no VirtualSystem",)
    return ConfigDocument(path, vms=tuple(specs), notes=notes)


def ovf_file_document(path: Path, descriptor: bytes) -> ConfigDocument:
    """A bare .ovf: its package is signed when a same-stem .mf or .cert sits beside it."""
    signed = path.with_suffix(".mf").is_file() or path.with_suffix(".cert").is_file()
    return ovf_document(descriptor, str(path), signed)


def ova_document(path: Path) -> ConfigDocument:
    """An .ova read in place: its descriptor, and whether it carries a manifest."""
    try:
        with FileSource(path) as source:
            members = read_tar_index(source, max_members=MAX_OVA_MEMBERS)
            package = open_ova(source, max_members=MAX_OVA_MEMBERS)
    except DiskError as err:
        raise ConfigParseError(f"{path}: OVA refused: {err.diagnostics()}") from err
    except OSError as err:
        raise ConfigParseError(f"{path}: cannot read ({err.strerror or err})") from err
    if package.descriptor_name is None:
        raise ConfigParseError(f"{path}: OVA without an .ovf descriptor")
    signed = any(
        m.kind == REGULAR and m.size > 0 and m.name.lower().endswith((".mf", ".cert"))
        for m in members
    )
    return ovf_document(package.descriptor, str(path), signed)
