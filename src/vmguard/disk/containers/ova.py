"""OVA packages: a tar of an OVF descriptor and its disks, read in place.

Never extracts. A member name that is absolute, climbs with "..", holds NUL, repeats, or is
a link refuses the whole package; disks are the OVF's referenced files, which must be plain
member names (no directories, no URL schemes) of regular members.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from vmguard.disk.containers.tar import REGULAR, TarMember, read_tar_index
from vmguard.disk.errors import CorruptImage, ImageRefused, LimitExceeded
from vmguard.disk.policy import printable
from vmguard.disk.source import ByteSource, SliceSource

_MAX_OVF_BYTES = 4 * 1024 * 1024
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


@dataclass(frozen=True, slots=True)
class OvaDisk:
    """One disk member of the package."""

    name: str
    source: ByteSource


@dataclass(frozen=True, slots=True)
class OvaPackage:
    """The descriptor and disks of an OVA."""

    descriptor_name: str | None
    descriptor: bytes
    disks: tuple[OvaDisk, ...]


def _vet_member(member: TarMember, seen: set[str]) -> None:
    name = member.name
    shown = printable(name)
    parts = name.replace("\\", "/").split("/")
    if not name or "\x00" in name or name.startswith(("/", "\\")) or ".." in parts:
        raise ImageRefused(f"OVA member {shown!r} escapes the package")
    if name in seen:
        raise ImageRefused(f"OVA member {shown!r} appears twice; a later copy could differ")
    seen.add(name)
    if member.kind in ("symlink", "hardlink"):
        raise ImageRefused(
            f"OVA member {shown!r} is a {member.kind} to {printable(member.link_target)!r}"
        )


def _attr(element: object, suffix: str) -> str | None:
    attrib: dict[str, str] = getattr(element, "attrib", {})
    for key, value in attrib.items():
        if key == suffix or key.endswith("}" + suffix):
            return value
    return None


def _referenced_disks(descriptor: bytes) -> list[str]:
    """Hrefs of the files that the OVF's DiskSection uses, in disk order."""
    try:
        root = SafeET.fromstring(descriptor, forbid_dtd=True)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as err:
        raise CorruptImage(f"OVF descriptor is not valid XML: {err}") from err
    files: dict[str, str] = {}
    disk_refs: list[str] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        local = element.tag.rsplit("}", 1)[-1]
        if local == "File":
            href, ident = _attr(element, "href"), _attr(element, "id")
            if href is not None:
                files[ident or href] = href
        elif local == "Disk":
            ref = _attr(element, "fileRef")
            if ref is not None:
                disk_refs.append(ref)
    if not disk_refs:
        return list(files.values())
    missing = [r for r in disk_refs if r not in files]
    if missing:
        raise CorruptImage(f"OVF disk refers to unknown file id {printable(missing[0])!r}")
    return [files[r] for r in disk_refs]


def open_ova(source: ByteSource, *, max_members: int) -> OvaPackage:
    """Index an OVA and return its descriptor and the slices of its disks."""
    members = read_tar_index(source, max_members=max_members)
    seen: set[str] = set()
    for member in members:
        _vet_member(member, seen)
    regular = {m.name: m for m in members if m.kind == REGULAR}
    ovf = next((m for m in members if m.name.lower().endswith(".ovf")), None)
    descriptor = b""
    if ovf is not None:
        if ovf.size > _MAX_OVF_BYTES:
            raise LimitExceeded(f"OVF descriptor {printable(ovf.name)!r} is {ovf.size} bytes")
        descriptor = source.read_at(ovf.offset, ovf.size)
        names = _referenced_disks(descriptor)
    else:
        names = [m.name for m in members if m.kind == REGULAR and not m.name.endswith(".mf")]
    disks: list[OvaDisk] = []
    for href in names:
        shown = printable(href)
        if _SCHEME.match(href) or "/" in href or "\\" in href or href in ("", ".", ".."):
            raise ImageRefused(f"OVF file reference {shown!r} is not a member of this package")
        found = regular.get(href)
        if found is None:
            raise ImageRefused(f"OVF file reference {shown!r} has no regular member")
        disks.append(OvaDisk(href, SliceSource(source, found.offset, found.size)))
    return OvaPackage(ovf.name if ovf else None, descriptor, tuple(disks))
