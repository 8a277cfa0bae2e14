"""Recognise a VM definition by its content and hand it to the right parser.

The file named by the user is the only host file read (plus the ``stat`` of an OVF's own
manifest); what it names stays data.
"""

from __future__ import annotations

from pathlib import Path

from vmguard.vmconfig.libvirt_network import filter_spec, network_spec
from vmguard.vmconfig.libvirt_xml import domain_spec, node_document, snapshot_document
from vmguard.vmconfig.model import ConfigDocument, ConfigParseError
from vmguard.vmconfig.ovf import ova_document, ovf_file_document
from vmguard.vmconfig.vbox import vbox_spec
from vmguard.vmconfig.vmx import vmx_spec
from vmguard.vmconfig.xmlsafe import parse_xml, read_bounded

_TAR_MAGIC_OFFSET = 257
_XML_SUFFIXES = (".xml", ".ovf", ".vbox")


def _is_tar(head: bytes) -> bool:
    return head[_TAR_MAGIC_OFFSET : _TAR_MAGIC_OFFSET + 5] == b"ustar"


def load_config(path: Path) -> ConfigDocument:
    """Parse one configuration file into the VMs, networks and filters it defines."""
    what = str(path)
    if path.suffix.lower() == ".ova":
        return ova_document(path)
    data = read_bounded(path)
    if _is_tar(data[:512]):
        return ova_document(path)
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if not start:
        raise ConfigParseError(f"{what}: empty file")
    if start != b"<" and path.suffix.lower() in _XML_SUFFIXES:
        raise ConfigParseError(f"{what}: not XML; a {path.suffix} definition must be XML")
    if start != b"<":
        return ConfigDocument(what, vms=(vmx_spec(data, what),))
    root = parse_xml(data, what)
    match root.tag:
        case "domain":
            return ConfigDocument(what, vms=(domain_spec(root, what),))
        case "node":
            return node_document(root, what)
        case "domainsnapshot":
            return snapshot_document(root, what)
        case "network":
            return ConfigDocument(what, networks=(network_spec(root, what),))
        case "filter":
            return ConfigDocument(what, filters=(filter_spec(root, what),))
        case "VirtualBox":
            return ConfigDocument(what, vms=(vbox_spec(root, what),))
        case "Envelope":
            return ovf_file_document(path, data)
        case _:
            raise ConfigParseError(
                f"{what}: <{root.tag[:40]}> is not a VM definition "
                "(expected libvirt domain/network/filter, .vbox, OVF or .vmx)"
            )
