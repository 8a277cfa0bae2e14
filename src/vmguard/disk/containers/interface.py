"""Types shared by every container reader."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from vmguard.disk.source import ByteSource


class ReferenceKind(StrEnum):
    """What an image names outside itself."""

    BACKING_FILE = "backing-file"
    """A parent image (qcow2 backing file, VMDK parentFileNameHint, VHD/VHDX parent)."""
    DATA_FILE = "data-file"
    """A qcow2 external data file: the guest data lives there, raw."""
    EXTENT = "extent"
    """A VMDK extent file named by a descriptor."""


@dataclass(frozen=True, slots=True)
class Reference:
    """One host file an image names. ``name`` is untrusted, exactly as the image stores it."""

    kind: ReferenceKind
    name: str
    format: str | None = None
    """Format the image declares for the referenced file (qcow2 backing format), if any."""
    extent_type: str | None = None
    """For VMDK extents: FLAT, SPARSE, VMFS, ZERO, ..."""


class ReferenceOpener(Protocol):
    """Opens what an image references, after the host-path policy allowed it.

    For ``BACKING_FILE`` it returns the backing image's guest-visible disk (recursively
    opened, chain depth and cycles checked); for ``DATA_FILE`` and ``EXTENT`` it returns
    the referenced file's raw bytes. Raises ``ImageRefused`` when the policy says no.
    """

    def __call__(self, reference: Reference) -> ByteSource: ...


@dataclass(frozen=True, slots=True)
class Container:
    """An opened container: its format and the guest-visible disk."""

    format: str
    """Canonical name: raw, qcow2, vmdk, vhd, vhdx."""
    variant: str
    """Sub-format: "v3", "monolithicSparse", "streamOptimized", "dynamic", "fixed", ..."""
    disk: ByteSource
    """The virtual disk as the guest sees it; ``disk.size`` is the virtual size."""
    references: tuple[Reference, ...] = ()
    """Every external file the image names (opened ones included), in chain order."""


def no_references(reference: Reference) -> ByteSource:
    """A ReferenceOpener for contexts with no host directory (OVA members): refuses all."""
    from vmguard.disk.errors import ImageRefused
    from vmguard.text import shown_name

    raise ImageRefused(
        f"{reference.kind.value} {shown_name(reference.name)!r} refused: "
        "an image inside an archive may not name other files"
    )
