"""Content signatures of container formats: does a file's content say it is format X?

Each function answers for one format from a ``ProbeInput`` (the file's first 64 KiB and the
file itself, for signatures that sit elsewhere: an ISO descriptor at 32 KiB, a footer at the
end). The magic numbers of the formats vmguard reads come from their readers' modules, so
each is spelled once. ``disk.formats`` names one signature per format; nothing else calls
these. They read a few bounded ranges and never trust a length the file gives.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from vmguard.disk.containers.qcow2_header import QCOW2_MAGIC
from vmguard.disk.containers.tar import checksum_sums
from vmguard.disk.containers.vhd import VHD_COOKIE, read_footer
from vmguard.disk.containers.vhdx_metadata import VHDX_MAGIC
from vmguard.disk.containers.vmdk_sparse import VMDK3_MAGIC, VMDK_SPARSE_MAGIC
from vmguard.disk.errors import DiskError
from vmguard.disk.source import ByteSource

HEAD_BYTES = 64 * 1024
"""How much of the start of a file every signature may look at."""
_TAR_MAGIC_AT = 257
_ISO_DESCRIPTOR_AT = 0x8001
_FOOTER_BYTES = 512


@dataclass(frozen=True, slots=True)
class ProbeInput:
    """What a signature looks at: the file and its first ``HEAD_BYTES``."""

    source: ByteSource
    head: bytes
    notes: list[str] = field(default_factory=list)
    """Why content that resembles a format was not taken for it (shown in errors)."""

    @classmethod
    def of(cls, source: ByteSource) -> ProbeInput:
        """The probe input of a file (reads its first ``HEAD_BYTES``)."""
        return cls(source, source.read_at(0, HEAD_BYTES))

    def tail(self, length: int) -> bytes:
        """The file's last ``length`` bytes, or b"" when it is shorter."""
        size = self.source.size
        return self.source.read_at(size - length, length) if size >= length else b""


def is_qcow2(probe: ProbeInput) -> bool:
    """qcow (v2/v3) header magic at offset 0."""
    return probe.head[:4] == QCOW2_MAGIC


def is_qed(probe: ProbeInput) -> bool:
    """QED header magic at offset 0."""
    return probe.head[:4] == b"QED\x00"


def is_vmdk(probe: ProbeInput) -> bool:
    """A VMDK sparse (KDMV) or VMDK3 (COWD) header, or a text descriptor."""
    head = probe.head
    return head[:4] in (VMDK_SPARSE_MAGIC, VMDK3_MAGIC) or _is_vmdk_descriptor(head)


def is_vhdx(probe: ProbeInput) -> bool:
    """The VHDX file identifier at offset 0."""
    return probe.head[:8] == VHDX_MAGIC


def is_vdi(probe: ProbeInput) -> bool:
    """VirtualBox's VDI signature at 0x40."""
    return probe.head[0x40:0x44] == b"\x7f\x10\xda\xbe"


def is_parallels(probe: ProbeInput) -> bool:
    """A Parallels header magic at offset 0."""
    return probe.head[:16] in (b"WithoutFreeSpace", b"WithouFreSpacExt")


def is_bochs(probe: ProbeInput) -> bool:
    """A Bochs header magic at offset 0."""
    return probe.head[:32].startswith(b"Bochs Virtual HD Image")


def is_cloop(probe: ProbeInput) -> bool:
    """A cloop image: a shell preamble that names cloop."""
    return probe.head[:64].startswith(b"#!/bin/sh") and b"cloop" in probe.head[:256]


def is_ustar(probe: ProbeInput) -> bool:
    """A ustar archive (an OVA package is one)."""
    return probe.head[_TAR_MAGIC_AT : _TAR_MAGIC_AT + 5] == b"ustar"


def is_v7_tar(probe: ProbeInput) -> bool:
    """A tar header without the ustar magic: a valid checksum over a named first block."""
    block = probe.head[:512]
    if len(block) < 512 or is_ustar(probe) or not block[:1].strip(b"\x00"):
        return False
    checksum = block[148:156].split(b"\x00", 1)[0].strip(b" ")
    if not checksum or any(c not in b"01234567" for c in checksum):
        return False
    return int(checksum, 8) in checksum_sums(block)


def is_iso(probe: ProbeInput) -> bool:
    """An ISO 9660 or UDF volume descriptor at 32 KiB."""
    return probe.source.read_at(_ISO_DESCRIPTOR_AT, 5) in (b"CD001", b"NSR02", b"NSR03")


def is_dmg(probe: ProbeInput) -> bool:
    """An Apple UDIF trailer ("koly") in the last 512 bytes."""
    return probe.tail(_FOOTER_BYTES)[:4] == b"koly"


def is_vhd(probe: ProbeInput) -> bool:
    """A VHD cookie at offset 0 (dynamic disks), or a footer that holds at the end (fixed).

    qemu's vpc probe looks for the cookie at offset 0 only, so it reads every file whose
    footer is only at the end (a fixed VHD) as raw. A consistent footer is read as the VHD it
    describes (the same bytes, less the footer); an inconsistent one is read as raw, as qemu
    reads it, which shows every byte any fixed-VHD reader could see: the probe notes why.
    """
    if probe.head[:8] == VHD_COOKIE:
        return True
    if probe.tail(_FOOTER_BYTES)[:8] != VHD_COOKIE:
        return False
    problem = _trailing_footer_problem(probe.source)
    if problem is None:
        return True
    probe.notes.append(
        f"the file ends in a VHD footer that does not hold ({problem}); read as raw, "
        "as qemu's format probe reads it (it looks for a VHD cookie at offset 0 only)"
    )
    return False


def _trailing_footer_problem(source: ByteSource) -> str | None:
    """Why a VHD footer found only at the end of the file is not one the VHD reader takes."""
    try:
        read_footer(source)
    except DiskError as err:
        return err.diagnostics()
    except (struct.error, ValueError, OverflowError) as err:
        return f"VHD footer invalid: {type(err).__name__}"
    return None


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
