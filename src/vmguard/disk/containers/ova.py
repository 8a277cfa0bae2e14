"""OVA packages: a tar of an OVF descriptor and its disks, read in place.

Never extracts. A member name that is absolute, climbs with "..", holds NUL, repeats, or is
a link refuses the whole package; disks are the OVF's referenced files, which must be plain
member names (no directories, no URL schemes) of regular members.

Names are compared as importers and extractors see them: VirtualBox matches an href to a
member ignoring case and takes the first match, and ``tar -x`` writes "./disk" and "disk"
to one file, keeping the last. So two members that differ only in case or in "./" and "//"
spellings count as the same name and refuse the package, and an href finds its member the
same way. The descriptor is the only regular ``.ovf`` member; the OVF's disks are the
``File`` elements directly under ``References``, each id once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from vmguard.disk.containers.tar import REGULAR, TarMember, read_tar_index
from vmguard.disk.errors import CorruptImage, ImageRefused, LimitExceeded
from vmguard.disk.source import ByteSource, SliceSource
from vmguard.text import shown_name

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


def member_key(name: str) -> str:
    """How importers and extractors identify a member: no "./", no empty parts, no case."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts).casefold()


def _vet_member(member: TarMember, seen: set[str]) -> None:
    name = member.name
    shown = shown_name(name)
    parts = name.replace("\\", "/").split("/")
    if not name or "\x00" in name or name.startswith(("/", "\\")) or ".." in parts:
        raise ImageRefused(f"OVA member {shown!r} escapes the package")
    key = member_key(name)
    if key in seen:
        raise ImageRefused(
            f"OVA member {shown!r} appears twice (names compared as importers do: ignoring "
            "case and './'); a later copy could differ"
        )
    seen.add(key)
    if member.kind in ("symlink", "hardlink"):
        raise ImageRefused(
            f"OVA member {shown!r} is a {member.kind} to {shown_name(member.link_target)!r}"
        )


def _attr(element: object, suffix: str) -> str | None:
    attrib: dict[str, str] = getattr(element, "attrib", {})
    for key, value in attrib.items():
        if key == suffix or key.endswith("}" + suffix):
            return value
    return None


def _local(element: object) -> str:
    tag = getattr(element, "tag", "")
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _referenced_disks(descriptor: bytes) -> list[str]:
    """Hrefs of the files that the OVF's DiskSection uses, in disk order."""
    try:
        root = SafeET.fromstring(descriptor, forbid_dtd=True)
    except (SafeET.ParseError, DefusedXmlException, ValueError, LookupError) as err:
        # LookupError: an encoding Python does not know in the XML declaration.
        raise CorruptImage(f"OVF descriptor is not valid XML: {err}") from err
    files: dict[str, str] = {}
    for references in (child for child in root if _local(child) == "References"):
        for element in (child for child in references if _local(child) == "File"):
            href, ident = _attr(element, "href"), _attr(element, "id")
            if href is None:
                continue
            key = ident or href
            if key in files:
                raise ImageRefused(f"OVF declares file id {shown_name(key)!r} twice")
            files[key] = href
    disk_refs = [
        ref
        for section in root.iter()
        if _local(section) == "DiskSection"
        for disk in section
        if _local(disk) == "Disk" and (ref := _attr(disk, "fileRef")) is not None
    ]
    if not disk_refs:
        return list(files.values())
    missing = [r for r in disk_refs if r not in files]
    if missing:
        raise CorruptImage(f"OVF disk refers to unknown file id {shown_name(missing[0])!r}")
    return [files[r] for r in disk_refs]


def open_ova(source: ByteSource, *, max_members: int) -> OvaPackage:
    """Index an OVA and return its descriptor and the slices of its disks."""
    members = read_tar_index(source, max_members=max_members)
    seen: set[str] = set()
    for member in members:
        _vet_member(member, seen)
    regular = {member_key(m.name): m for m in members if m.kind == REGULAR}
    descriptors = [m for m in members if m.kind == REGULAR and m.name.lower().endswith(".ovf")]
    if len(descriptors) > 1:
        listed = ", ".join(repr(shown_name(m.name)) for m in descriptors[:3])
        raise ImageRefused(f"OVA holds several OVF descriptors ({listed}): which VM is ambiguous")
    ovf = descriptors[0] if descriptors else None
    descriptor = b""
    if ovf is not None:
        if ovf.size > _MAX_OVF_BYTES:
            raise LimitExceeded(f"OVF descriptor {shown_name(ovf.name)!r} is {ovf.size} bytes")
        descriptor = source.read_at(ovf.offset, ovf.size)
        names = _referenced_disks(descriptor)
    else:
        names = [m.name for m in members if m.kind == REGULAR and not m.name.endswith(".mf")]
    disks: list[OvaDisk] = []
    for href in names:
        shown = shown_name(href)
        if _SCHEME.match(href) or "/" in href or "\\" in href or href in ("", ".", ".."):
            raise ImageRefused(f"OVF file reference {shown!r} is not a member of this package")
        found = regular.get(member_key(href))
        if found is None:
            raise ImageRefused(f"OVF file reference {shown!r} has no regular member")
        disks.append(OvaDisk(href, SliceSource(source, found.offset, found.size)))
    return OvaPackage(ovf.name if ovf else None, descriptor, tuple(disks))
