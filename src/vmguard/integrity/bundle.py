"""A bundle on disk: which given paths are definitions and which are disk images.

Definitions are recognised by name (.xml libvirt, .vmx, .vbox, .ovf) and read bounded;
everything else is a disk image opened by the disk layer, whose host-path policy decides
which backing files may be opened. This module never opens a path named inside a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vmguard.disk.image import OpenedImage, open_image
from vmguard.disk.limits import DEFAULT_LIMITS, Limits
from vmguard.disk.policy import HostPathPolicy
from vmguard.integrity.domain import is_domain_xml
from vmguard.integrity.errors import IntegrityError
from vmguard.userfiles import UserFileError, read_user_file

MAX_DEFINITION = 16 * 1024 * 1024
_KINDS = {".xml": "libvirt", ".vmx": "vmx", ".vbox": "vbox", ".ovf": "ovf"}


class BundleUnusable(IntegrityError):
    """A bundle path is missing, unreadable or of a kind vmguard does not sign."""


@dataclass(frozen=True, slots=True)
class BundlePaths:
    """The given paths sorted into disks and definitions, each in the order given."""

    disks: tuple[Path, ...]
    definitions: tuple[tuple[Path, str], ...]
    """(path, kind) with kind libvirt, vmx, vbox or ovf."""


def classify(paths: Sequence[Path]) -> BundlePaths:
    """Sort bundle paths; every path must be an existing regular file."""
    disks: list[Path] = []
    definitions: list[tuple[Path, str]] = []
    for path in paths:
        if not path.is_file():
            raise BundleUnusable(f"{path}: no such file")
        kind = _KINDS.get(path.suffix.lower())
        if kind is None:
            disks.append(path)
        else:
            definitions.append((path, kind))
    if not disks and not definitions:
        raise BundleUnusable("the bundle is empty")
    return BundlePaths(tuple(disks), tuple(definitions))


def read_definition(path: Path, kind: str) -> bytes:
    """The bytes of a definition file, bounded; a libvirt one must be a <domain>."""
    try:
        data = read_user_file(path, "definition", MAX_DEFINITION)
    except UserFileError as err:
        raise BundleUnusable(err.diagnostics()) from err
    if kind == "libvirt" and not is_domain_xml(data):
        raise BundleUnusable(f"{path}: .xml file is not a libvirt <domain> definition")
    return data


def open_disk(
    path: Path,
    *,
    forced_format: str | None = None,
    allowed_dirs: tuple[Path, ...] = (),
    follow_references: bool = True,
    limits: Limits = DEFAULT_LIMITS,
) -> OpenedImage:
    """Open one disk image of a bundle (backing files under the host-path policy; none at all
    without ``follow_references``)."""
    image = open_image(
        path,
        forced_format=forced_format,
        policy=HostPathPolicy(allowed_dirs, follow_references),
        limits=limits,
    )
    if len(image.disks) != 1:
        raise BundleUnusable(
            f"{path}: a {image.format} holding {len(image.disks)} disks; sign its disks instead"
        )
    return image
