"""Which installed packages make up the hypervisor, and the digests their package manager
recorded for each of their files (dpkg ``md5sums`` and conffiles, rpm header digests).

The hypervisor packages are declared as data (``HYPERVISOR_PACKAGES``): QEMU, libvirt,
firmware (OVMF/EDK2, SeaBIOS, iPXE), swtpm, and from kernel packages only the KVM, VFIO and
vhost modules and the kernel image. Reads go through ``HostRoot``; this module must never
run dpkg or rpm, and never trust a path from the database outside the root.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase

from vmguard.guest.dpkg import DPKG_STATUS_MAX
from vmguard.guest.errors import GuestFactsError, read_guest_file
from vmguard.guest.facts import guest_text
from vmguard.guest.rpmdb import RPMDB_DIRS, RPMDB_MAX, bdb_values, ndb_blobs, sqlite_blobs
from vmguard.host.root import HostRoot
from vmguard.host.rpmfiles import RPMFILE_CONFIG, RPMFILE_GHOST, file_list
from vmguard.problems import Problem, Stage

MD5SUMS_MAX = 16 * 1024 * 1024
DPKG_INFO = "/var/lib/dpkg/info"
_KERNEL_PATHS = (
    "*/kernel/arch/x86/kvm/*",
    "*/kernel/arch/arm64/kvm/*",
    "*/kernel/virt/*",
    "*/kernel/drivers/vfio/*",
    "*/kernel/drivers/vhost/*",
    "/boot/vmlinuz-*",
)


@dataclass(frozen=True, slots=True)
class PackageSelector:
    """Packages whose name matches ``name`` (a glob); only ``paths`` of them when given."""

    name: str
    paths: tuple[str, ...] = ()


HYPERVISOR_PACKAGES = (
    *(
        PackageSelector(name)
        for name in (
            "qemu-system*",
            "qemu-kvm*",
            "qemu-utils",
            "qemu-img",
            "qemu-block-*",
            "qemu-efi*",
            "qemu-device-*",
            "libvirt-daemon*",
            "libvirt0",
            "libvirt-libs",
            "ovmf*",
            "edk2-*",
            "seabios*",
            "ipxe-qemu*",
            "swtpm*",
        )
    ),
    PackageSelector("linux-image-*", _KERNEL_PATHS),
    PackageSelector("kernel-core", _KERNEL_PATHS),
    PackageSelector("kernel-modules", _KERNEL_PATHS),
)


@dataclass(frozen=True, slots=True)
class PackageFile:
    """A file a hypervisor package installed, with the digest recorded at installation."""

    package: str
    path: str
    digest: str
    """Lower-case hex."""
    algorithm: str
    """hashlib name: md5 for dpkg, the header's algorithm for rpm."""
    config: bool
    """A conffile / %config file: the administrator may legitimately change it."""


@dataclass(frozen=True, slots=True)
class HypervisorPackages:
    """The hypervisor's packages and files, as the package manager recorded them."""

    manager: str | None
    """dpkg, rpm or None when no package database was found."""
    packages: tuple[str, ...]
    files: tuple[PackageFile, ...]
    problems: tuple[Problem, ...] = ()


def _selector(name: str) -> PackageSelector | None:
    return next((s for s in HYPERVISOR_PACKAGES if fnmatchcase(name, s.name)), None)


def _wanted(selector: PackageSelector, path: str) -> bool:
    return not selector.paths or any(fnmatchcase(path, p) for p in selector.paths)


def _status_paragraphs(data: bytes) -> Iterator[dict[str, list[str]]]:
    """deb822 paragraphs with continuation lines kept (Conffiles needs them)."""
    fields: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in data.split(b"\n"):
        line = raw.decode("utf-8", "replace")
        if not line.strip():
            if fields:
                yield fields
            fields, current = {}, None
        elif line[:1] in (" ", "\t"):
            if current is not None:
                current.append(line.strip())
        elif ":" in line:
            name, _, value = line.partition(":")
            current = [value.strip()] if value.strip() else []
            fields[name.strip().lower()] = current
    if fields:
        yield fields


def _dpkg(root: HostRoot, status: bytes) -> HypervisorPackages:
    names: list[str] = []
    files: list[PackageFile] = []
    problems: list[Problem] = []
    for fields in _status_paragraphs(status):
        name = guest_text(" ".join(fields.get("package", [])))
        selector = _selector(name)
        state = " ".join(fields.get("status", []))
        if selector is None or not state.endswith(" installed") or "/" in name:
            continue
        names.append(name)
        arch = " ".join(fields.get("architecture", []))
        md5sums_path = f"{DPKG_INFO}/{name}.md5sums"
        try:
            data = read_guest_file(root, md5sums_path, MD5SUMS_MAX)
            if data is None:
                md5sums_path = f"{DPKG_INFO}/{name}:{arch}.md5sums"
                data = read_guest_file(root, md5sums_path, MD5SUMS_MAX)
        except GuestFactsError as err:
            problems.append(err.problem())
            continue
        if data is None:
            problems.append(Problem(Stage.FACTS, md5sums_path, f"no md5sums recorded for {name}"))
        for line in (data or b"").decode("utf-8", "replace").splitlines():
            digest, _, path = line.partition("  ")
            path = "/" + path.strip().lstrip("/")
            if len(digest) == 32 and path != "/" and _wanted(selector, path):
                files.append(PackageFile(name, guest_text(path), digest.lower(), "md5", False))
        for line in fields.get("conffiles", []):
            parts = line.split()
            if len(parts) >= 2 and len(parts[1]) == 32 and "obsolete" not in parts[2:]:
                files.append(PackageFile(name, guest_text(parts[0]), parts[1].lower(), "md5", True))
    return HypervisorPackages("dpkg", tuple(names), tuple(files), tuple(problems))


def _rpm_blobs(root: HostRoot) -> tuple[str, list[bytes | GuestFactsError]] | None:
    for directory in RPMDB_DIRS:
        path = f"{directory}/rpmdb.sqlite"
        main = read_guest_file(root, path, RPMDB_MAX)
        if main is not None:
            wal = read_guest_file(root, path + "-wal", RPMDB_MAX)
            return path, list(sqlite_blobs(main, wal, path))
        path = f"{directory}/Packages.db"
        data = read_guest_file(root, path, RPMDB_MAX)
        if data is not None:
            return path, list(ndb_blobs(data, path))
        path = f"{directory}/Packages"
        data = read_guest_file(root, path, RPMDB_MAX)
        if data is not None:
            return path, list(bdb_values(data, path))
    return None


def _rpm(root: HostRoot) -> HypervisorPackages | None:
    try:
        found = _rpm_blobs(root)
    except GuestFactsError as err:
        return HypervisorPackages("rpm", (), (), (err.problem(),))
    if found is None:
        return None
    db_path, blobs = found
    names: list[str] = []
    files: list[PackageFile] = []
    problems: list[Problem] = []
    for number, blob in enumerate(blobs):
        try:
            if isinstance(blob, GuestFactsError):
                raise blob
            listed = file_list(blob)
        except GuestFactsError as err:
            problems.append(Problem(Stage.FACTS, db_path, f"header {number}: {err.reason}"))
            continue
        selector = _selector(listed.name)
        if selector is None:
            continue
        names.append(listed.name)
        files.extend(
            PackageFile(
                listed.name, f.path, f.digest, listed.algorithm, bool(f.flags & RPMFILE_CONFIG)
            )
            for f in listed.files
            if f.digest and not f.flags & RPMFILE_GHOST and _wanted(selector, f.path)
        )
    return HypervisorPackages("rpm", tuple(names), tuple(files), tuple(problems))


def read_hypervisor_packages(root: HostRoot) -> HypervisorPackages:
    """The hypervisor packages of the dpkg database, else of the rpm database."""
    try:
        status = read_guest_file(root, "/var/lib/dpkg/status", DPKG_STATUS_MAX)
    except GuestFactsError as err:
        return HypervisorPackages("dpkg", (), (), (err.problem(),))
    if status is not None:
        return _dpkg(root, status)
    return _rpm(root) or HypervisorPackages(None, (), ())
