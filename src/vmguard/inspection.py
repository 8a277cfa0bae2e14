"""Open an image as a guest: container, volumes, filesystems, mount layout, OS facts.

The one entry point the commands use to look inside an image; ``inspect`` reports what it
returns, ``scan`` walks its ``GuestFS``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, replace
from pathlib import Path

from vmguard.disk.image import OpenedImage, open_image
from vmguard.disk.layout import GuestLayout, assemble_layout
from vmguard.disk.limits import DEFAULT_LIMITS, Limits
from vmguard.disk.policy import HostPathPolicy
from vmguard.disk.volumes.luks_unlock import VolumeSecret
from vmguard.disk.volumes.roles import partition_role
from vmguard.disk.volumes.scan import scan_volumes
from vmguard.findings import Area, Finding, Report, Rule, Severity, Target, TargetKind, Threat
from vmguard.guest.apps import find_app_packages
from vmguard.guest.facts import GuestFacts, InstalledPackage, OsFacts
from vmguard.guest.inspect import gather_guest_facts
from vmguard.inventory import BackingInfo, DiskInfo, Inventory, PartitionInfo
from vmguard.problems import Problem, Stage


@dataclass(frozen=True, slots=True)
class ImageOptions:
    """How to open an image."""

    forced_format: str | None = None
    """Use this container format, whatever the content suggests."""
    allowed_dirs: tuple[Path, ...] = ()
    """Directories besides the image's own from which referenced files may be opened."""
    follow_references: bool = True
    """False (``--isolated``): open no file the image names, not even one beside it."""
    limits: Limits = field(default_factory=lambda: DEFAULT_LIMITS)
    secrets: tuple[VolumeSecret, ...] = field(default=(), repr=False)
    """Key files and passphrases that may open encrypted volumes (never shown or kept)."""


@dataclass(frozen=True, slots=True)
class OpenedGuest:
    """An image opened down to its files."""

    image: OpenedImage
    layout: GuestLayout
    facts: GuestFacts | None

    def problems(self) -> list[Problem]:
        """What could not be read while opening: the layout's problems, then the facts'."""
        found = list(self.layout.problems)
        if self.facts is not None:
            found.extend(self.facts.problems)
        return found


def open_guest(path: Path, options: ImageOptions) -> OpenedGuest:
    """Open ``path`` and assemble the guest; raises only for refused or unreadable images."""
    image = open_image(
        path,
        forced_format=options.forced_format,
        policy=HostPathPolicy(options.allowed_dirs, options.follow_references),
        limits=options.limits,
    )
    layouts = [
        (d.name, scan_volumes(d.disk, limits=options.limits, secrets=options.secrets))
        for d in image.disks
    ]
    layout = assemble_layout(layouts)
    if image.detection is not None and image.detection.note:
        problems = (Problem(Stage.IMAGE, "image", image.detection.note), *layout.problems)
        layout = dataclasses.replace(layout, problems=problems)
    facts = gather_guest_facts(layout.guestfs) if layout.guestfs is not None else None
    return OpenedGuest(image, layout, facts)


def inventory_of(guest: OpenedGuest) -> Inventory:
    """The inventory of an opened guest."""
    image, layout, facts = guest.image, guest.layout, guest.facts
    first = image.disks[0]
    partitions = tuple(
        PartitionInfo(
            index=p.volume.index,
            scheme=p.volume.scheme,
            start=p.volume.start,
            size=p.volume.size,
            filesystem=p.signature.kind or None,
            label=p.filesystem.label if p.filesystem is not None else p.signature.label,
            uuid=p.signature.uuid,
            mountpoint=p.mountpoint,
            disk=p.disk_index,
            partuuid=p.volume.uuid if p.volume.scheme in ("gpt", "mbr") else None,
            partlabel=p.volume.label,
            lvm_name=p.volume.name,
            encryption=p.volume.encryption,
            role=partition_role(p.volume),
        )
        for p in layout.volumes
    )
    return Inventory(
        format=image.format,
        variant=first.variant if image.format != "ova" else "ova",
        virtual_size=sum(d.disk.size for d in image.disks),
        backing_chain=tuple(BackingInfo(b.name, b.path, b.format) for b in image.backing_chain),
        disks=tuple(DiskInfo(d.name, d.format, d.variant, d.disk.size) for d in image.disks),
        partitions=partitions,
        os=facts.os if facts is not None else None,
        users=facts.users if facts is not None else (),
        packages=facts.packages if facts is not None else (),
        services=facts.services if facts is not None else (),
    )


def with_app_packages(inventory: Inventory, packages: tuple[InstalledPackage, ...]) -> Inventory:
    """The inventory with application packages listed after the OS packages."""
    return replace(inventory, packages=(*inventory.packages, *packages))


FORMAT_MISMATCH = Rule(
    "image.format-mismatch",
    "Image content contradicts its file name",
    Severity.MEDIUM,
    Threat.VM_MODIFICATION,
    "Treat the image by its content, never by its name; pass the format explicitly "
    "(qemu-img -f) to every tool that opens it, or rename it.",
    ("https://security.openstack.org/ossa/OSSA-2024-002.html",),
    rationale=(
        "A file whose content is not the format its name says may be an attempt to get it past "
        "tools that trust the extension, or a packaging mistake that hides what the image really "
        "is."
    ),
)


def _format_findings(guest: OpenedGuest) -> list[Finding]:
    detection = guest.image.detection
    if detection is None or not detection.contradicts_extension:
        return []
    evidence = f"named as {detection.extension_suggests}, content is {detection.format}"
    return [FORMAT_MISMATCH.finding(str(guest.image.path), evidence, area=Area.IMAGE)]


def inspect_image(path: Path, options: ImageOptions, *, applications: bool = False) -> Report:
    """The inventory of an image, with what could not be read listed as errors.

    ``applications`` walks the guest for application packages too (``vulns``, ``sbom``).
    """
    guest = open_guest(path, options)
    errors = guest.problems()
    inventory = inventory_of(guest)
    if applications and guest.layout.guestfs is not None:
        found = find_app_packages(guest.layout.guestfs)
        inventory = with_app_packages(inventory, found.value)
        errors.extend(found.problems)
    return Report(
        target=Target(TargetKind.IMAGE, str(path)),
        inventory=inventory,
        findings=tuple(_format_findings(guest)),
        errors=tuple(errors),
    )


__all__ = ["ImageOptions", "OpenedGuest", "OsFacts", "inspect_image", "inventory_of", "open_guest"]
