"""``HostFacts``: everything the host checks look at, gathered once through ``HostRoot``.

Gathering is the only place the host is read; checks get these facts and never open a
file. A file that cannot be read or parsed becomes a ``Problem`` and the audit goes on.
This module must never write to the host.
"""

from __future__ import annotations

from dataclasses import dataclass

from vmguard.guest.facts import guest_text
from vmguard.guest.view import GuestFileTooLarge
from vmguard.host.conf import MAX_CONF_BYTES, ConfFile, ConfParseError, parse_conf
from vmguard.host.domains import Definitions, read_definitions
from vmguard.host.kernelstate import KernelState, read_kernel_state
from vmguard.host.packages import HypervisorPackages, read_hypervisor_packages
from vmguard.host.pkgverify import PackageVerification, verify_package_files
from vmguard.host.root import HostRoot
from vmguard.problems import Problem, Stage
from vmguard.text import is_decimal

QEMU_CONF = "/etc/libvirt/qemu.conf"
DAEMON_CONFS = (
    "/etc/libvirt/libvirtd.conf",
    "/etc/libvirt/virtqemud.conf",
    "/etc/libvirt/virtproxyd.conf",
)
SOCKETS_WANTS = "/etc/systemd/system/sockets.target.wants"
TCP_SOCKET_UNITS = (
    "libvirtd-tcp.socket",
    "libvirtd-tls.socket",
    "virtproxyd-tcp.socket",
    "virtproxyd-tls.socket",
)
VMM_BINARIES = (
    "/usr/bin/qemu-system-x86_64",
    "/usr/bin/qemu-system-aarch64",
    "/usr/libexec/qemu-kvm",
    "/usr/sbin/libvirtd",
    "/usr/sbin/virtqemud",
)
ACCOUNTS_MAX = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Accounts:
    """Names and ids from /etc/passwd and /etc/group."""

    users: tuple[tuple[str, int], ...] = ()
    groups: tuple[tuple[str, int], ...] = ()

    def uid(self, name: str) -> int | None:
        """The uid of a user name (or a ``+N`` numeric spec), None if unknown."""
        if name.startswith("+") and is_decimal(name[1:]):
            return int(name[1:])
        return next((i for n, i in self.users if n == name), None)

    def gid(self, name: str) -> int | None:
        """The gid of a group name (or ``+N``), None if unknown."""
        if name.startswith("+") and is_decimal(name[1:]):
            return int(name[1:])
        return next((i for n, i in self.groups if n == name), None)

    def user_name(self, uid: int) -> str:
        """A uid's name, or the number."""
        return next((n for n, i in self.users if i == uid), str(uid))

    def group_name(self, gid: int) -> str:
        """A gid's name, or the number."""
        return next((n for n, i in self.groups if i == gid), str(gid))


@dataclass(frozen=True, slots=True)
class HostFacts:
    """What the host audit knows about one host."""

    root: str
    """The root audited (``/`` for the live host)."""
    qemu_conf: ConfFile | None
    daemon_confs: tuple[ConfFile, ...]
    tcp_sockets: tuple[str, ...]
    """libvirt TCP/TLS socket units enabled in systemd."""
    accounts: Accounts
    definitions: Definitions
    kernel: KernelState
    packages: HypervisorPackages
    verification: PackageVerification
    apparmor_disabled: tuple[str, ...]
    """Profiles disabled with a link in /etc/apparmor.d/disable."""
    selinux_config: str | None
    """SELINUX= of /etc/selinux/config."""
    hypervisor_installed: bool
    problems: tuple[Problem, ...] = ()


def _ids(text: str) -> tuple[tuple[str, int], ...]:
    found = []
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and is_decimal(fields[2]):
            found.append((guest_text(fields[0]), int(fields[2])))
    return tuple(found)


def _read_conf(root: HostRoot, path: str, problems: list[Problem]) -> ConfFile | None:
    try:
        text = root.read_text(path, MAX_CONF_BYTES)
        return None if text is None else parse_conf(text, path)
    except (ConfParseError, GuestFileTooLarge) as err:
        problems.append(Problem(Stage.FACTS, path, err.diagnostics()))
        return None


def _text(root: HostRoot, path: str, problems: list[Problem]) -> str:
    try:
        return root.read_text(path, ACCOUNTS_MAX) or ""
    except GuestFileTooLarge as err:
        problems.append(Problem(Stage.FACTS, path, err.diagnostics()))
        return ""


def _selinux_mode(text: str) -> str | None:
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "SELINUX":
            return guest_text(value.strip().strip("\"'").lower())
    return None


def gather_host_facts(root: HostRoot) -> HostFacts:
    """Read everything the host checks need from ``root``."""
    problems: list[Problem] = []
    qemu_conf = _read_conf(root, QEMU_CONF, problems)
    daemon_confs = [c for p in DAEMON_CONFS if (c := _read_conf(root, p, problems))]
    wants = set(root.list_dir(SOCKETS_WANTS) or [])
    definitions = read_definitions(root)
    packages = read_hypervisor_packages(root)
    problems += definitions.problems + packages.problems
    installed = bool(
        packages.packages
        and not all(p.startswith(("linux-image", "kernel")) for p in packages.packages)
    )
    installed = installed or qemu_conf is not None or any(root.stat(b) for b in VMM_BINARIES)
    return HostFacts(
        root=str(root.root),
        qemu_conf=qemu_conf,
        daemon_confs=tuple(daemon_confs),
        tcp_sockets=tuple(u for u in TCP_SOCKET_UNITS if u in wants),
        accounts=Accounts(
            _ids(_text(root, "/etc/passwd", problems)), _ids(_text(root, "/etc/group", problems))
        ),
        definitions=definitions,
        kernel=read_kernel_state(root),
        packages=packages,
        verification=verify_package_files(root, packages.files),
        apparmor_disabled=tuple(root.list_dir("/etc/apparmor.d/disable") or ()),
        selinux_config=_selinux_mode(_text(root, "/etc/selinux/config", problems)),
        hypervisor_installed=installed,
        problems=tuple(problems),
    )
