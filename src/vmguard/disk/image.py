"""Open an untrusted image file: detect its format, open its container, follow its chain.

This is where names found inside images meet the host: the ``ReferenceOpener`` built here is
the only code that opens files an image names, and it does so only after ``HostPathPolicy``
allowed the resolved path, with an explicit format for every backing file, a depth limit and
loop detection.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vmguard.disk.containers.interface import (
    Container,
    Reference,
    ReferenceKind,
    ReferenceOpener,
    no_references,
)
from vmguard.disk.containers.ova import open_ova
from vmguard.disk.containers.raw import open_raw
from vmguard.disk.errors import (
    BackingLoop,
    DiskError,
    ImageRefused,
    LimitExceeded,
    UnsupportedFormat,
    withheld,
)
from vmguard.disk.limits import DEFAULT_LIMITS, Limits
from vmguard.disk.policy import HostPathPolicy
from vmguard.disk.probe import READABLE_FORMATS, Detection, detect_format
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


ContainerOpener = Callable[[ByteSource, Limits, ReferenceOpener], Container]


def _container_opener(fmt: str) -> ContainerOpener:
    # Imported here so a broken optional reader cannot break the others at import time.
    if fmt == "raw":
        return lambda source, limits, opener: open_raw(source)
    if fmt == "qcow2":
        from vmguard.disk.containers.qcow2 import open_qcow2

        return lambda s, lim, op: open_qcow2(s, limits=lim, open_reference=op)
    if fmt == "vmdk":
        from vmguard.disk.containers.vmdk import open_vmdk

        return lambda s, lim, op: open_vmdk(s, limits=lim, open_reference=op)
    if fmt == "vhd":
        from vmguard.disk.containers.vhd import open_vhd

        return lambda s, lim, op: open_vhd(s, limits=lim, open_reference=op)
    if fmt == "vhdx":
        from vmguard.disk.containers.vhdx import open_vhdx

        return lambda s, lim, op: open_vhdx(s, limits=lim, open_reference=op)
    raise UnsupportedFormat(f"format {shown_name(fmt)!r} is not one vmguard reads")


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
        self, image: Path, depth: int, visited: frozenset[tuple[int, int]]
    ) -> ReferenceOpener:
        def open_reference(reference: Reference) -> ByteSource:
            what = reference.kind.value.replace("-", " ")
            path = self.policy.resolve(reference.name, image, what)
            shown = shown_name(reference.name)
            try:
                st = os.stat(path)
            except OSError:
                raise ImageRefused(f"{what} {shown!r} vanished before it was opened") from None
            key = (st.st_dev, st.st_ino)
            if reference.kind is not ReferenceKind.BACKING_FILE:
                return referenced(self.open_file(path, key), f"{what} {shown!r}")
            fmt = reference.format
            if not fmt:
                raise ImageRefused(
                    f"backing file {shown!r} has no explicit format",
                    safe_reason="a backing file in its chain has no explicit format",
                )
            if fmt not in READABLE_FORMATS or fmt == "ova":
                raise ImageRefused(
                    f"backing file {shown!r} has unsupported format {fmt!r}",
                    safe_reason="a backing file in its chain has an unsupported format",
                )
            if key in visited:
                raise BackingLoop(f"backing file {shown!r} creates a loop in the chain")
            if depth + 1 >= self.limits.max_chain_depth:
                deeper = f"backing chain deeper than {self.limits.max_chain_depth} images"
                raise LimitExceeded(deeper, safe_reason=deeper)
            source = self.open_file(path, key)
            named = HostPathPolicy.named_path(str(reference.name), image)
            opener = self.opener_for(named, depth + 1, visited | {key})
            try:
                container = _container_opener(fmt)(source, self.limits, opener)
            except DiskError as err:
                raise withheld(err, f"backing file {shown!r}") from None
            self.links.append(BackingLink(shown, str(path), fmt, depth + 1))
            return referenced(container.disk, f"backing file {shown!r}")

        return open_reference


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
        fmt = detection.format
    elif forced_format in READABLE_FORMATS:
        fmt = forced_format
    else:
        raise UnsupportedFormat(f"format {shown_name(forced_format)!r} is not one vmguard reads")
    st = os.stat(path)
    top_key = frozenset({(st.st_dev, st.st_ino)})
    disks: list[DiskImage] = []
    if fmt == "ova":
        package = open_ova(source, max_members=limits.max_ova_members)
        for member in package.disks:
            inner = detect_format(member.source, member.name)
            if inner.format == "ova":
                raise ImageRefused(f"OVA member {shown_name(member.name)!r} is itself an OVA")
            if not package.descriptor and inner.format == "raw":
                continue
            c = _container_opener(inner.format)(member.source, limits, no_references)
            disks.append(DiskImage(member.name, c.format, c.variant, c.disk, c.references))
        if not disks:
            raise ImageRefused("OVA package holds no disk image")
    else:
        opener = state.opener_for(path, 0, top_key)
        c = _container_opener(fmt)(source, limits, opener)
        disks.append(DiskImage(path.name, c.format, c.variant, c.disk, c.references))
    chain = tuple(sorted(state.links, key=lambda link: link.depth))
    return OpenedImage(path, fmt, detection, tuple(disks), chain, tuple(state.opened))
