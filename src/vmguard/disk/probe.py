"""Content-based format detection. The file name never decides a format.

Every signature is checked, and an image that matches more than one container format is a
polyglot (an ISO whose system area holds a qcow2 header, a qcow2 with a VHD footer) and is
refused: two readers would see two different disks.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import PurePath

from vmguard.disk.containers.tar import checksum_sums
from vmguard.disk.containers.vhd import VHD_COOKIE, read_footer
from vmguard.disk.errors import DiskError, ImageRefused, UnsupportedFormat
from vmguard.disk.source import ByteSource

READABLE_FORMATS = ("raw", "qcow2", "vmdk", "vhd", "vhdx", "ova")

# Formats recognised but not read: refusing is safer than falling back to raw, which would
# hand a structured image to filesystem readers as if it were a disk.
_UNSUPPORTED = {
    "qed": "QED images are not supported (qemu deprecated the format; nothing should use it)",
    "vdi": "VirtualBox VDI images are not supported yet; convert with qemu-img first",
    "parallels": "Parallels images are not supported",
    "bochs": "Bochs images are not supported",
    "cloop": "cloop images are not supported",
    "dmg": "Apple DMG images are not supported",
    "iso": "ISO 9660 images are installation media, not VM disks",
    "tar-v7": "an old (v7) tar archive: OVA packages are ustar archives, and reading it as a "
    "raw disk would not be what an importer reads",
}

# What an extension suggests; ambiguous ones (.img, .bin, .disk) suggest nothing.
_EXTENSIONS = {
    ".qcow2": "qcow2",
    ".qcow": "qcow2",
    ".vmdk": "vmdk",
    ".vhd": "vhd",
    ".vpc": "vhd",
    ".vhdx": "vhdx",
    ".ova": "ova",
    ".raw": "raw",
    ".qed": "qed",
    ".vdi": "vdi",
    ".iso": "iso",
}


@dataclass(frozen=True, slots=True)
class Detection:
    """The format content says a file is, and what its name suggested."""

    format: str
    extension_suggests: str | None
    note: str | None = None
    """Why content that resembles another format was read as this one (shown in errors)."""

    @property
    def contradicts_extension(self) -> bool:
        """True when the name claims another format than the content has."""
        return self.extension_suggests is not None and self.extension_suggests != self.format


def _qemu_probes_vmdk_text(head: bytes) -> bool:
    """qemu's vmdk_probe on its 2 KiB probe buffer: after comment lines and lines of spaces,
    the first line is "version=1", "=2" or "=3". Whatever else the text holds, qemu then
    opens the file as a VMDK descriptor (and the extents it names)."""
    buf = head[:2048]
    p, end = 0, len(buf)
    while p < end:
        if buf[p : p + 1] == b"#":
            newline = buf.find(b"\n", p)
            p = end if newline < 0 else newline + 1
            continue
        if buf[p : p + 1] == b" ":
            while p < end and buf[p : p + 1] == b" ":
                p += 1
            if buf[p : p + 1] == b"\r":
                p += 1
            if p >= end or buf[p : p + 1] != b"\n":
                return False
            p += 1
            continue
        line = buf[p : p + 11]
        return any(
            line.startswith(b"version=%d%s" % (n, e)) for n in (1, 2, 3) for e in (b"\n", b"\r\n")
        )
    return False


def _is_vmdk_descriptor(head: bytes) -> bool:
    if _qemu_probes_vmdk_text(head):
        return True
    text = head[:4096]
    if b"\x00" in text.split(b"\n\n", 1)[0][:1024]:
        return False
    return text.startswith(b"# Disk DescriptorFile") or (
        b"createType=" in text and b"\n" in text and text[:1].isascii()
    )


def _is_v7_tar(head: bytes) -> bool:
    """A tar header without the ustar magic: a valid checksum over a named first block."""
    block = head[:512]
    if len(block) < 512 or block[257:262] == b"ustar" or not block[:1].strip(b"\x00"):
        return False
    field = block[148:156].split(b"\x00", 1)[0].strip(b" ")
    if not field or any(c not in b"01234567" for c in field):
        return False
    return int(field, 8) in checksum_sums(block)


def _trailing_footer_problem(source: ByteSource) -> str | None:
    """Why a VHD footer found only at the end of the file is not one the VHD reader takes.

    qemu's vpc probe looks for the cookie at offset 0 only, so it reads every file whose
    footer is only at the end (a fixed VHD) as raw. A consistent footer is read as the VHD it
    describes (the same bytes, less the footer); an inconsistent one is read as raw, as qemu
    reads it, which shows every byte any fixed-VHD reader could see.
    """
    try:
        read_footer(source)
    except DiskError as err:
        return err.diagnostics()
    except (struct.error, ValueError, OverflowError) as err:
        return f"VHD footer invalid: {type(err).__name__}"
    return None


def _signatures(source: ByteSource, notes: list[str]) -> list[str]:
    head = source.read_at(0, 64 * 1024)
    size = source.size
    found: list[str] = []
    if head[:4] == b"QFI\xfb":
        found.append("qcow2")
    if head[:4] == b"QED\x00":
        found.append("qed")
    if head[:4] == b"KDMV" or head[:4] == b"COWD" or _is_vmdk_descriptor(head):
        found.append("vmdk")
    if head[:8] == b"vhdxfile":
        found.append("vhdx")
    if head[0x40:0x44] == b"\x7f\x10\xda\xbe":
        found.append("vdi")
    if head[:16] in (b"WithoutFreeSpace", b"WithouFreSpacExt"):
        found.append("parallels")
    if head[:32].startswith(b"Bochs Virtual HD Image"):
        found.append("bochs")
    if head[:64].startswith(b"#!/bin/sh") and b"cloop" in head[:256]:
        found.append("cloop")
    if head[257:262] == b"ustar":
        found.append("ova")
    elif _is_v7_tar(head):
        found.append("tar-v7")
    iso = source.read_at(0x8001, 5)
    if iso in (b"CD001", b"NSR02", b"NSR03"):
        found.append("iso")
    footer = source.read_at(size - 512, 512) if size >= 512 else b""
    if head[:8] == VHD_COOKIE:
        found.append("vhd")
    elif footer[:8] == VHD_COOKIE:
        problem = _trailing_footer_problem(source)
        if problem is None:
            found.append("vhd")
        else:
            notes.append(
                f"the file ends in a VHD footer that does not hold ({problem}); read as raw, "
                "as qemu's format probe reads it (it looks for a VHD cookie at offset 0 only)"
            )
    if size >= 512 and source.read_at(size - 512, 4) == b"koly":
        found.append("dmg")
    return found


def detect_format(source: ByteSource, name: str = "") -> Detection:
    """Decide the container format from content; refuse polyglots and unsupported formats."""
    suggests = _EXTENSIONS.get(PurePath(name).suffix.lower()) if name else None
    notes: list[str] = []
    found = _signatures(source, notes)
    if len(found) > 1:
        raise ImageRefused(
            f"content matches several formats ({', '.join(found)}): a polyglot image is refused"
        )
    fmt = found[0] if found else "raw"
    if fmt in _UNSUPPORTED:
        raise UnsupportedFormat(_UNSUPPORTED[fmt])
    note = notes[0] if notes and fmt == "raw" else None
    return Detection(format=fmt, extension_suggests=suggests, note=note)
