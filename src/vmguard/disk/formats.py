"""The container formats vmguard knows, one entry each: the signature that recognises it, how
it is opened, what it may name outside itself and the file extensions that suggest it.

``probe.detect_format`` and ``image.open_image`` read this table and nothing else, so adding
a format is adding one entry (and its reader under ``containers/``). A recognised format
without an opener is refused with its ``refusal``: refusing is safer than falling back to
raw, which would hand a structured image to filesystem readers as if it were a disk.

Openers are imported when first called, so a broken optional reader cannot break the others
at import time. Nothing here opens a host file: openers get every file an image names from
the ``ReferenceOpener`` they are given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vmguard.disk import signatures as sig
from vmguard.disk.containers.interface import Container, ReferenceKind, ReferenceOpener
from vmguard.disk.errors import UnsupportedFormat
from vmguard.disk.limits import Limits
from vmguard.disk.source import ByteSource
from vmguard.text import shown_name

DiskOpener = Callable[[ByteSource, Limits, ReferenceOpener], Container]
"""Opens one guest disk; anything the image names comes from the ReferenceOpener."""


@dataclass(frozen=True, slots=True)
class ArchiveDisks:
    """The disk images an archive (an OVA package) carries, each to be probed in turn."""

    members: tuple[tuple[str, ByteSource], ...]
    """(member name as the archive stores it, its bytes), in the archive's order."""
    listed: bool
    """The archive lists its disks (an OVF descriptor), so a member read as raw is a disk;
    otherwise only members whose content has a container signature count as disks."""


ArchiveOpener = Callable[[ByteSource, Limits], ArchiveDisks]


@dataclass(frozen=True, slots=True)
class ContainerFormat:
    """One container format. Exactly one of ``open_disk``, ``open_archive``, ``refusal``."""

    name: str
    """Canonical name, as --image-format, reports and backing-format fields spell it."""
    signature: Callable[[sig.ProbeInput], bool] | None
    """True when content is this format; None for raw (what no signature matches)."""
    open_disk: DiskOpener | None = None
    open_archive: ArchiveOpener | None = None
    refusal: str | None = None
    """Why a format vmguard recognises is not read."""
    references: frozenset[ReferenceKind] = frozenset()
    """What an image of this format may name outside itself; anything else is refused."""
    extensions: tuple[str, ...] = ()
    """File name endings that suggest the format (ambiguous ones like .img suggest none)."""

    def __post_init__(self) -> None:
        ways = (self.open_disk, self.open_archive, self.refusal)
        if sum(way is not None for way in ways) != 1:
            raise ValueError(f"format {self.name}: give one of an opener or a refusal")

    @property
    def is_disk(self) -> bool:
        """One guest disk (what a backing file or an archive member must be)."""
        return self.open_disk is not None

    def open_as_disk(
        self, source: ByteSource, limits: Limits, opener: ReferenceOpener
    ) -> Container:
        """Open ``source`` as one guest disk of this format."""
        if self.open_disk is None:
            raise UnsupportedFormat(f"a {self.name} image is not one disk")
        return self.open_disk(source, limits, opener)


def _open_raw(source: ByteSource, limits: Limits, opener: ReferenceOpener) -> Container:
    from vmguard.disk.containers.raw import open_raw

    return open_raw(source)


def _open_qcow2(source: ByteSource, limits: Limits, opener: ReferenceOpener) -> Container:
    from vmguard.disk.containers.qcow2 import open_qcow2

    return open_qcow2(source, limits=limits, open_reference=opener)


def _open_vmdk(source: ByteSource, limits: Limits, opener: ReferenceOpener) -> Container:
    from vmguard.disk.containers.vmdk import open_vmdk

    return open_vmdk(source, limits=limits, open_reference=opener)


def _open_vhd(source: ByteSource, limits: Limits, opener: ReferenceOpener) -> Container:
    from vmguard.disk.containers.vhd import open_vhd

    return open_vhd(source, limits=limits, open_reference=opener)


def _open_vhdx(source: ByteSource, limits: Limits, opener: ReferenceOpener) -> Container:
    from vmguard.disk.containers.vhdx import open_vhdx

    return open_vhdx(source, limits=limits, open_reference=opener)


def _open_ova(source: ByteSource, limits: Limits) -> ArchiveDisks:
    from vmguard.disk.containers.ova import open_ova

    package = open_ova(source, max_members=limits.max_ova_members)
    members = tuple((disk.name, disk.source) for disk in package.disks)
    return ArchiveDisks(members, listed=bool(package.descriptor))


_PARENT = frozenset({ReferenceKind.BACKING_FILE})

FORMATS: tuple[ContainerFormat, ...] = (
    ContainerFormat("raw", None, open_disk=_open_raw, extensions=(".raw",)),
    ContainerFormat(
        "qcow2",
        sig.is_qcow2,
        open_disk=_open_qcow2,
        references=frozenset({ReferenceKind.BACKING_FILE, ReferenceKind.DATA_FILE}),
        extensions=(".qcow2", ".qcow"),
    ),
    ContainerFormat(
        "vmdk",
        sig.is_vmdk,
        open_disk=_open_vmdk,
        references=frozenset({ReferenceKind.BACKING_FILE, ReferenceKind.EXTENT}),
        extensions=(".vmdk",),
    ),
    ContainerFormat(
        "vhd", sig.is_vhd, open_disk=_open_vhd, references=_PARENT, extensions=(".vhd", ".vpc")
    ),
    ContainerFormat(
        "vhdx", sig.is_vhdx, open_disk=_open_vhdx, references=_PARENT, extensions=(".vhdx",)
    ),
    ContainerFormat("ova", sig.is_ustar, open_archive=_open_ova, extensions=(".ova",)),
    ContainerFormat(
        "qed",
        sig.is_qed,
        refusal="QED images are not supported (qemu deprecated the format; nothing should use it)",
        extensions=(".qed",),
    ),
    ContainerFormat(
        "vdi",
        sig.is_vdi,
        refusal="VirtualBox VDI images are not supported yet; convert with qemu-img first",
        extensions=(".vdi",),
    ),
    ContainerFormat("parallels", sig.is_parallels, refusal="Parallels images are not supported"),
    ContainerFormat("bochs", sig.is_bochs, refusal="Bochs images are not supported"),
    ContainerFormat("cloop", sig.is_cloop, refusal="cloop images are not supported"),
    ContainerFormat("dmg", sig.is_dmg, refusal="Apple DMG images are not supported"),
    ContainerFormat(
        "iso",
        sig.is_iso,
        refusal="ISO 9660 images are installation media, not VM disks",
        extensions=(".iso",),
    ),
    ContainerFormat(
        "tar-v7",
        sig.is_v7_tar,
        refusal="an old (v7) tar archive: OVA packages are ustar archives, and reading it as a "
        "raw disk would not be what an importer reads",
    ),
)

RAW = FORMATS[0]
"""What a file is when no signature matches."""
READABLE_FORMATS = tuple(f.name for f in FORMATS if f.refusal is None)
"""Every format --image-format accepts."""
_BY_NAME = {f.name: f for f in FORMATS}


def readable_format(name: str) -> ContainerFormat:
    """The entry of a format vmguard reads; ``UnsupportedFormat`` for any other name."""
    found = _BY_NAME.get(name)
    if found is None or found.refusal is not None:
        raise UnsupportedFormat(f"format {shown_name(name)!r} is not one vmguard reads")
    return found


def suggested_by(extension: str) -> str | None:
    """The format a file name ending suggests (lower-cased, with its dot), if any."""
    return next((f.name for f in FORMATS if extension in f.extensions), None)
