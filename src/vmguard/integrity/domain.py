"""libvirt domain XML: the disks a domain names, and a canonical form to compare definitions.

At ``prepare begin`` libvirt hands its hook the domain exactly as ``virsh dumpxml --inactive``
prints it, plus the runtime ``id`` attribute (measured with libvirt 9.0). The canonical form
drops only what libvirt adds at run time (root ``id``, ``<alias>``, ``source/@index``, empty
``<backingStore/>``) and is C14N 2.0 with whitespace-only text removed, so whitespace and
attribute order do not matter and everything else (a new ``<hostdev>``, a changed
``<seclabel>``, another disk path) does.

Parsing is bounded (size) and done by defusedxml (no DTDs, no entities). This module never
opens a path the XML names.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET  # only C14N of a tree defusedxml already parsed
from dataclasses import dataclass

import defusedxml.ElementTree as SafeET

from vmguard.integrity.errors import IntegrityError

MAX_DOMAIN_XML = 1024 * 1024
MAX_DISKS = 64


class DomainXmlError(IntegrityError):
    """The domain XML is not a bounded, well-formed libvirt <domain>."""


@dataclass(frozen=True, slots=True)
class DomainDisk:
    """One <disk> of a domain."""

    target: str
    """Guest device name (vda, sdb, ...), for messages."""
    device: str
    """disk, cdrom, floppy or lun."""
    source_type: str
    """file, block, network, volume, dir, nvme, vhostuser."""
    path: str | None
    """Host path of a file or block source; None for an empty drive or a network source."""
    format: str | None
    """driver/@type as libvirt will open it (qcow2, raw, ...)."""


@dataclass(frozen=True, slots=True)
class DomainSpec:
    """What the gate needs from a domain definition."""

    name: str
    uuid: str | None
    disks: tuple[DomainDisk, ...]


def _parse(data: bytes) -> ET.Element:
    if len(data) > MAX_DOMAIN_XML:
        raise DomainXmlError(f"domain XML is {len(data)} bytes (limit {MAX_DOMAIN_XML})")
    try:
        root = SafeET.fromstring(data)
    except Exception as err:  # defusedxml raises several unrelated types
        raise DomainXmlError(f"domain XML cannot be parsed: {err}") from err
    if root.tag != "domain":
        raise DomainXmlError(f"root element is <{root.tag}>, not <domain>")
    return root  # type: ignore[no-any-return]


def parse_domain(data: bytes) -> DomainSpec:
    """The name, UUID and disks of a libvirt domain XML document."""
    root = _parse(data)
    name = (root.findtext("name") or "").strip()
    if not name:
        raise DomainXmlError("domain XML has no <name>")
    disks: list[DomainDisk] = []
    for disk in root.iterfind("devices/disk"):
        if len(disks) >= MAX_DISKS:
            raise DomainXmlError(f"more than {MAX_DISKS} disks")
        source = disk.find("source")
        driver = disk.find("driver")
        target = disk.find("target")
        path = None
        if source is not None:
            path = source.get("file") or source.get("dev")
        disks.append(
            DomainDisk(
                target=(target.get("dev") if target is not None else None) or "?",
                device=disk.get("device", "disk"),
                source_type=disk.get("type", "file"),
                path=path,
                format=driver.get("type") if driver is not None else None,
            )
        )
    return DomainSpec(name, (root.findtext("uuid") or "").strip() or None, tuple(disks))


def canonical_domain(data: bytes) -> bytes:
    """C14N 2.0 of the domain without what libvirt adds when it starts one."""
    root = _parse(data)
    root.attrib.pop("id", None)
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag == "alias" or (
                child.tag == "backingStore" and len(child) == 0 and not child.attrib
            ):
                parent.remove(child)
            elif child.tag == "source" and parent.tag == "disk":
                child.attrib.pop("index", None)
    out = io.StringIO()
    ET.canonicalize(ET.tostring(root, encoding="unicode"), out=out, strip_text=True)
    return out.getvalue().encode("utf-8")


def is_domain_xml(data: bytes) -> bool:
    """True when ``data`` parses as a libvirt <domain> document."""
    try:
        _parse(data)
    except DomainXmlError:
        return False
    return True
