"""VM definitions and disk images on a host: libvirt domain XML, storage pools, image files.

Domains come from ``/etc/libvirt/qemu/*.xml`` (parsed with defusedxml through
``vmconfig.xmlsafe``), pools from ``/etc/libvirt/storage/*.xml``, and images from the
domains' disks and NVRAM plus the files of ``/var/lib/libvirt/images`` and every directory
pool. A path named inside a definition is only ever stat()ed, inside the root: this module
must never open a disk image or follow a link out of the root.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from vmguard.guest.facts import guest_text
from vmguard.guest.view import GuestFileTooLarge, GuestStat
from vmguard.host.root import HostRoot, join
from vmguard.problems import Problem, Stage
from vmguard.vmconfig.model import ConfigParseError
from vmguard.vmconfig.xmlsafe import parse_xml

DOMAIN_DIR = "/etc/libvirt/qemu"
POOL_DIR = "/etc/libvirt/storage"
IMAGE_DIR = "/var/lib/libvirt/images"
EXPECTED_IMAGE_DIRS = (IMAGE_DIR, "/var/lib/libvirt/qemu", "/var/lib/nova/instances")
"""Where libvirt's confinement (AppArmor/SELinux labels) and backups expect disks."""
MAX_DEFINITION_BYTES = 4 * 1024 * 1024
MAX_DEFINITIONS = 10_000
MAX_POOL_FILES = 100_000


@dataclass(frozen=True, slots=True)
class Domain:
    """What the host audit needs from one libvirt domain definition."""

    name: str
    definition: str
    """Host path of the XML file."""
    definition_stat: GuestStat | None
    definition_real: str | None
    """Where the definition resolves inside the root (differs when it is a link)."""
    disks: tuple[str, ...]
    """Host paths of file/block disk sources and NVRAM files."""
    hostdevs: int
    """Devices passed through (``<hostdev>``)."""
    shares_pages: bool
    """False when ``<memoryBacking><nosharepages/>`` opts out of KSM."""


@dataclass(frozen=True, slots=True)
class ImageFile:
    """A VM disk image (or NVRAM store) on the host, only stat()ed."""

    path: str
    """As named by the definition or found in an image directory."""
    real: str | None
    """Resolved inside the root; None when it does not exist."""
    stat: GuestStat | None
    domains: tuple[str, ...]
    """Domains that use it (empty for an unused file of an image directory)."""


@dataclass(frozen=True, slots=True)
class Definitions:
    """Domains, pool directories and images of a host."""

    domains: tuple[Domain, ...] = ()
    pool_dirs: tuple[str, ...] = ()
    images: tuple[ImageFile, ...] = ()
    problems: tuple[Problem, ...] = ()


def _read_xml(root: HostRoot, path: str) -> Element:
    try:
        data = root.read_file(path, MAX_DEFINITION_BYTES)
    except GuestFileTooLarge as err:
        raise ConfigParseError(err.diagnostics()) from err
    if data is None:
        raise ConfigParseError(f"{path}: not a readable regular file")
    return parse_xml(data, path)


def _xml_files(root: HostRoot, directory: str) -> list[str]:
    names = [n for n in root.list_dir(directory) or [] if n.endswith(".xml")]
    return [join(directory, n) for n in names[:MAX_DEFINITIONS]]


def _disk_paths(element: Element) -> Iterator[str]:
    for source in element.iterfind("devices/disk/source"):
        for attribute in ("file", "dev"):
            value = source.get(attribute)
            if value and value.startswith("/"):
                yield guest_text(value)
    nvram = element.find("os/nvram")
    if nvram is not None and nvram.text and nvram.text.strip().startswith("/"):
        yield guest_text(nvram.text.strip())


def _domain(root: HostRoot, path: str) -> Domain:
    element = _read_xml(root, path)
    if element.tag != "domain":
        raise ConfigParseError(f"{path}: not a libvirt domain (<{element.tag}>)")
    name = guest_text(element.findtext("name") or "") or path.rsplit("/", 1)[-1]
    return Domain(
        name=name,
        definition=path,
        definition_stat=root.stat(path, follow=True),
        definition_real=root.real_path(path),
        disks=tuple(dict.fromkeys(_disk_paths(element))),
        hostdevs=len(element.findall("devices/hostdev")),
        shares_pages=element.find("memoryBacking/nosharepages") is None,
    )


def _pool_dir(root: HostRoot, path: str) -> str | None:
    element = _read_xml(root, path)
    target = (element.findtext("target/path") or "").strip()
    kind = element.get("type", "")
    return guest_text(target) if kind in ("dir", "fs", "netfs") and target.startswith("/") else None


def read_definitions(root: HostRoot) -> Definitions:
    """Domains, pools and images of the host; an unreadable definition is a problem."""
    problems: list[Problem] = []
    domains: list[Domain] = []
    for path in _xml_files(root, DOMAIN_DIR):
        try:
            domains.append(_domain(root, path))
        except ConfigParseError as err:
            problems.append(Problem(Stage.FACTS, path, err.diagnostics()))
    pool_dirs: list[str] = []
    for path in _xml_files(root, POOL_DIR):
        try:
            if (directory := _pool_dir(root, path)) is not None:
                pool_dirs.append(directory)
        except ConfigParseError as err:
            problems.append(Problem(Stage.FACTS, path, err.diagnostics()))
    users: dict[str, list[str]] = {}
    for domain in domains:
        for disk in domain.disks:
            users.setdefault(disk, []).append(domain.name)
    for directory in dict.fromkeys([IMAGE_DIR, *pool_dirs]):
        for name in (root.list_dir(directory) or [])[:MAX_POOL_FILES]:
            users.setdefault(join(directory, name), [])
    images = []
    for path, names in users.items():
        info = root.stat(path, follow=True)
        if info is None and names:
            problems.append(
                Problem(
                    Stage.FACTS, path, f"disk of domain {names[0]} not found under the host root"
                )
            )
        images.append(ImageFile(path, root.real_path(path) if info else None, info, tuple(names)))
    return Definitions(tuple(domains), tuple(pool_dirs), tuple(images), tuple(problems))
