"""Open an untrusted image file: detect its format, open its container, follow its chain.

This is where names found inside images meet the host: the ``ReferenceOpener`` built here is
the only code that opens files an image names, and it does so only after ``HostPathPolicy``
allowed the resolved path, with an explicit format for every backing file, a depth limit and
loop detection.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from vmguard.disk.containers.interface import (
    Reference,
    ReferenceKind,
    ReferenceOpener,
    no_references,
)
from vmguard.disk.errors import (
    BackingLoop,
    DiskError,
    ImageRefused,
    LimitExceeded,
    UnsupportedFormat,
    withheld,
)
from vmguard.disk.formats import ArchiveDisks, ContainerFormat, readable_format
from vmguard.disk.limits import DEFAULT_LIMITS, Limits
from vmguard.disk.policy import HostPathPolicy
from vmguard.disk.probe import Detection, detect_format
from vmguard.disk.referenced import referenced
from vmguard.disk.source import ByteSource, FileSource
from vmguard.text import shown_name


@dataclass(frozen=True, slots=True)
class BackingLink:
    """One image of a backing chain (the top image excluded)."""

    name: str
    """The name as the child image stores it (escaped for display)."""
    path: str
    """The host path it resolved to, inside an allowed directory."""
    format: str
    depth: int
    """1 for the top image's backing file, 2 for its backing file, ..."""


@dataclass(frozen=True, slots=True)
class DiskImage:
    """One guest-visible disk of an image (an OVA may carry several)."""

    name: str
    format: str
    variant: str
    disk: ByteSource = field(repr=False)
    references: tuple[Reference, ...] = ()


@dataclass(frozen=True, slots=True)
class OpenedImage:
    """An image file opened for reading, with everything it pulled in."""

    path: Path
    format: str
    detection: Detection | None
    """None when the user forced the format."""
    disks: tuple[DiskImage, ...]
    backing_chain: tuple[BackingLink, ...]
    opened_files: tuple[Path, ...]
    """Every host file opened: the image, then allowed backing files, data files, extents."""


class _ChainState:
    """What one open_image call has opened so far (never shared between calls)."""

    def __init__(self, policy: HostPathPolicy, limits: Limits) -> None:
        self.policy = policy
        self.limits = limits
        self.links: list[BackingLink] = []
        self.opened: list[Path] = []

    def open_file(self, path: Path, identity: tuple[int, int] | None = None) -> FileSource:
        source = FileSource(path, identity=identity)
        self.opened.append(path)
        return source

    def opener_for(
        self,
        image: Path,
        fmt: ContainerFormat,
        depth: int,
        visited: frozenset[tuple[int, int]],
    ) -> ReferenceOpener:
        """What an image of format ``fmt`` at ``image`` may open, ``depth`` links down."""

        def open_reference(reference: Reference) -> ByteSource:
            what = reference.kind.value.replace("-", " ")
            shown = shown_name(reference.name)
            if reference.kind not in fmt.references:
                raise ImageRefused(f"a {fmt.name} image cannot name a {what} ({shown!r})")
            path = self.policy.resolve(reference.name, image, what)
            try:
                st = os.stat(path)
            except OSError:
                raise ImageRefused(f"{what} {shown!r} vanished before it was opened") from None
            key = (st.st_dev, st.st_ino)
            if reference.kind is not ReferenceKind.BACKING_FILE:
                return referenced(self.open_file(path, key), f"{what} {shown!r}")
            declared = reference.format
            if not declared:
                raise ImageRefused(
                    f"backing file {shown!r} has no explicit format",
                    safe_reason="a backing file in its chain has no explicit format",
                )
            parent = _disk_format(declared)
            if parent is None:
                raise ImageRefused(
                    f"backing file {shown!r} has unsupported format {declared!r}",
                    safe_reason="a backing file in its chain has an unsupported format",
                )
            if key in visited:
                raise BackingLoop(f"backing file {shown!r} creates a loop in the chain")
            if depth + 1 >= self.limits.max_chain_depth:
                deeper = f"backing chain deeper than {self.limits.max_chain_depth} images"
                raise LimitExceeded(deeper, safe_reason=deeper)
            source = self.open_file(path, key)
            named = HostPathPolicy.named_path(str(reference.name), image)
            opener = self.opener_for(named, parent, depth + 1, visited | {key})
            try:
                container = parent.open_as_disk(source, self.limits, opener)
            except DiskError as err:
                raise withheld(err, f"backing file {shown!r}") from None
            self.links.append(BackingLink(shown, str(path), parent.name, depth + 1))
            return referenced(container.disk, f"backing file {shown!r}")

        return open_reference


def _disk_format(name: str) -> ContainerFormat | None:
    """The entry of a format that is one guest disk (a backing file may be one), else None."""
    try:
        found = readable_format(name)
    except UnsupportedFormat:
        return None
    return found if found.is_disk else None


def open_image(
    path: Path,
    *,
    forced_format: str | None = None,
    policy: HostPathPolicy | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> OpenedImage:
    """Open ``path`` read-only and return its guest-visible disks.

    ``forced_format`` is used as given, never second-guessed by content.
    """
    state = _ChainState(policy or HostPathPolicy(), limits)
    source = state.open_file(path)
    detection = None
    if forced_format is None:
        detection = detect_format(source, path.name)
        fmt = readable_format(detection.format)
    else:
        fmt = readable_format(forced_format)
    st = os.stat(path)
    top_key = frozenset({(st.st_dev, st.st_ino)})
    disks: list[DiskImage] = []
    if fmt.open_archive is not None:
        disks += _archive_disks(fmt, fmt.open_archive(source, limits), limits)
    else:
        c = fmt.open_as_disk(source, limits, state.opener_for(path, fmt, 0, top_key))
        disks.append(DiskImage(path.name, c.format, c.variant, c.disk, c.references))
    chain = tuple(sorted(state.links, key=lambda link: link.depth))
    return OpenedImage(path, fmt.name, detection, tuple(disks), chain, tuple(state.opened))


def _archive_disks(archive: ContainerFormat, held: ArchiveDisks, limits: Limits) -> list[DiskImage]:
    """Each disk an archive carries, opened as its own content says; none may name a file."""
    label = archive.name.upper()
    disks: list[DiskImage] = []
    for name, member in held.members:
        inner = detect_format(member, name)
        disk = _disk_format(inner.format)
        if disk is None:
            shown = shown_name(name)
            raise ImageRefused(f"{label} member {shown!r} is itself an {inner.format.upper()}")
        if not held.listed and disk.signature is None:
            continue
        c = disk.open_as_disk(member, limits, no_references)
        disks.append(DiskImage(name, c.format, c.variant, c.disk, c.references))
    if not disks:
        raise ImageRefused(f"{label} package holds no disk image")
    return disks
