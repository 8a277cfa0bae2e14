"""Checks of libvirt's management sockets: ``libvirtd.conf``, ``virtqemud.conf``,
``virtproxyd.conf`` and the TCP/TLS socket units enabled in systemd.

Whoever can talk to libvirt's read-write socket controls every guest (reads its memory,
attaches its disks elsewhere, changes its definition). This module must never read a file:
it looks at the parsed files in ``HostFacts``.
"""

from __future__ import annotations

from collections.abc import Iterator

from vmguard.findings import Area, Finding, Rule, Severity, Threat
from vmguard.host.conf import ConfFile
from vmguard.host.facts import HostFacts

_REFS = (
    "libvirt src/remote/libvirtd.conf.in",
    "https://libvirt.org/remote.html",
    "https://libvirt.org/auth.html",
)

TCP_NO_AUTH = Rule(
    "libvirtd.tcp-no-auth",
    "libvirt accepts unauthenticated management connections over TCP",
    Severity.CRITICAL,
    Threat.HOST_MONITORING,
    'Set auth_tcp = "sasl" (or better, listen_tcp = 0 and use TLS with client '
    "certificates, or qemu+ssh://), and disable the libvirtd-tcp.socket unit.",
    (*_REFS, "KVM KVM-10"),
    rationale=(
        "Anyone who reaches the TCP port can manage every VM on the host (start, stop, read disks, "
        "define new domains) without logging in."
    ),
)
TCP_PLAIN = Rule(
    "libvirtd.tcp-listen",
    "libvirt management traffic over plain TCP",
    Severity.MEDIUM,
    Threat.HOST_MONITORING,
    "Use TLS (listen_tls, libvirtd-tls.socket) or qemu+ssh:// instead of listen_tcp; plain "
    "TCP is only encrypted when the SASL mechanism negotiates a security layer.",
    (*_REFS, "KVM KVM-10"),
    rationale=(
        "Plain TCP carries management commands and credentials unencrypted, where anyone on the "
        "path can read or alter them."
    ),
)
TLS_WEAK = Rule(
    "libvirtd.tls-weak",
    "libvirt TLS accepts clients it does not check",
    Severity.HIGH,
    Threat.HOST_MONITORING,
    "Remove tls_no_verify_certificate, and set tls_allowed_dn_list (or auth_tls = "
    '"sasl") so that only named clients manage the host.',
    (*_REFS, "KVM KVM-10"),
    rationale=(
        "TLS that does not check client certificates lets any client that can connect manage the "
        "host."
    ),
)
UNIX_OPEN = Rule(
    "libvirtd.unix-socket-open",
    "Any local user can use libvirt's read-write socket",
    Severity.HIGH,
    Threat.HOST_MONITORING,
    'Set unix_sock_rw_perms = "0770" with unix_sock_group = "libvirt", or auth_unix_rw = "polkit".',
    (*_REFS, "KVM KVM-10"),
    rationale=(
        "libvirt's read-write socket is root-equivalent: any local user who can open it can start "
        "a VM with the host's disks attached."
    ),
)
NO_ACCESS_CONTROL = Rule(
    "libvirtd.no-access-control",
    "libvirt has no access-control driver and its socket group holds every user",
    Severity.HIGH,
    Threat.HOST_MONITORING,
    'Set unix_sock_group to a dedicated group (e.g. "libvirt") of administrators only, '
    'or enable access_drivers = [ "polkit" ] with per-user ACL rules.',
    (*_REFS, "https://libvirt.org/acl.html", "KVM KVM-11"),
    rationale=(
        "Without an access-control driver, membership of the socket group is the only barrier, and "
        "that group holds every user."
    ),
)
RULES = (TCP_NO_AUTH, TCP_PLAIN, TLS_WEAK, UNIX_OPEN, NO_ACCESS_CONTROL)
EVERYONE_GROUPS = ("users",)
"""Groups that conventionally hold every local user (gid 100 on most distributions)."""


def _line(conf: ConfFile, *names: str) -> int | None:
    return next((e.line for n in names if (e := conf.get(n)) is not None), None)


def _tcp(conf: ConfFile, sockets: tuple[str, ...]) -> Iterator[Finding]:
    daemon = conf.path.rsplit("/", 1)[-1].removesuffix(".conf")
    units = [u for u in sockets if u.startswith(daemon) and "-tcp." in u]
    if conf.number("listen_tcp") != 1 and not units:
        return
    how = "listen_tcp = 1" if conf.number("listen_tcp") == 1 else f"{units[0]} enabled"
    auth = conf.text("auth_tcp")
    line = _line(conf, "auth_tcp", "listen_tcp")
    if auth == "none":
        yield TCP_NO_AUTH.finding(
            conf.path, f'{how}, auth_tcp = "none"', line=line, area=Area.CONFIG
        )
    else:
        shown = f'auth_tcp = "{auth}"' if auth else 'auth_tcp unset (default "sasl")'
        yield TCP_PLAIN.finding(conf.path, f"{how}, {shown}", line=line, area=Area.CONFIG)


def _tls(conf: ConfFile, sockets: tuple[str, ...]) -> Iterator[Finding]:
    daemon = conf.path.rsplit("/", 1)[-1].removesuffix(".conf")
    listening = conf.number("listen_tls") == 1 or any(
        u.startswith(daemon) and "-tls." in u for u in sockets
    )
    if not listening:
        return
    for key in ("tls_no_verify_certificate", "tls_no_sanity_certificate"):
        if conf.number(key) == 1:
            yield TLS_WEAK.finding(conf.path, f"{key} = 1", line=_line(conf, key), area=Area.CONFIG)
    auth = conf.text("auth_tls") or "none"
    if auth == "none" and conf.get("tls_allowed_dn_list") is None:
        yield TLS_WEAK.finding(
            conf.path,
            'auth_tls = "none" and no tls_allowed_dn_list: '
            "any certificate of the CA manages the host",
            line=_line(conf, "auth_tls", "listen_tls"),
            area=Area.CONFIG,
            severity=Severity.MEDIUM,
        )


def _unix(conf: ConfFile) -> Iterator[Finding]:
    perms = conf.text("unix_sock_rw_perms")
    try:
        mode = int(perms, 8) if perms else 0o770
    except ValueError:
        return
    auth = conf.text("auth_unix_rw") or "none"
    if mode & 0o002 and auth == "none":
        yield UNIX_OPEN.finding(
            conf.path,
            f'unix_sock_rw_perms = "{perms}" with auth_unix_rw = "{auth}"',
            line=_line(conf, "unix_sock_rw_perms"),
            area=Area.CONFIG,
        )


def _access(conf: ConfFile, facts: HostFacts) -> Iterator[Finding]:
    drivers = conf.get("access_drivers")
    if drivers is not None and drivers.value not in ((), ""):
        return
    group = conf.text("unix_sock_group")
    if group is None:
        return
    perms = conf.text("unix_sock_rw_perms")
    try:
        mode = int(perms, 8) if perms else 0o770
    except ValueError:
        return
    everyone = group in EVERYONE_GROUPS or facts.accounts.gid(group) == 100
    if everyone and mode & 0o060 and (conf.text("auth_unix_rw") or "none") == "none":
        yield NO_ACCESS_CONTROL.finding(
            conf.path,
            f'unix_sock_group = "{group}" (every user\'s group), no access_drivers',
            line=_line(conf, "unix_sock_group"),
            area=Area.CONFIG,
        )


class LibvirtdConfCheck:
    """Unauthenticated or unencrypted libvirt management sockets (TCP, TLS, UNIX).

    libvirt's read-write API is root on the host in all but name: it starts guests with
    any disk, device or firmware. A TCP socket with auth_tcp = "none" gives that to the
    network; world-writable UNIX sockets give it to every local user.
    """

    rules: tuple[Rule, ...] = RULES

    def check(self, facts: HostFacts) -> Iterator[Finding]:
        """Findings for each daemon configuration present."""
        for conf in facts.daemon_confs:
            yield from _tcp(conf, facts.tcp_sockets)
            yield from _tls(conf, facts.tcp_sockets)
            yield from _unix(conf)
            yield from _access(conf, facts)
