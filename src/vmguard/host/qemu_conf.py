"""Checks of libvirt's QEMU driver configuration, ``/etc/libvirt/qemu.conf``.

Rule ids follow the config-rules reference (``qemuconf.root``, ``qemuconf.confinement``,
``qemuconf.remote-display``, ``qemuconf.misc``). "Key K set to V is unsafe" rules are rows
of data (``CONFINEMENT_KEYS``, ``MISC_KEYS``); only the remote-display rule, which weighs
several keys together, is code. Evidence never shows a password value. This module must
never read a file (its input is the parsed ``ConfFile`` in ``HostFacts``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from vmguard.findings import Area, Finding, Location, Rule, Severity, Threat
from vmguard.host.conf import ConfEntry, ConfFile, ConfValue
from vmguard.host.facts import HostFacts

_LQ = "libvirt src/qemu/qemu.conf.in"
_LOOPBACK = ("127.0.0.1", "::1", "localhost", "")

ROOT = Rule(
    "qemuconf.root",
    "QEMU processes run as root",
    Severity.HIGH,
    Threat.VM_ESCAPE,
    'Set user and group in qemu.conf to an unprivileged account (Debian: "libvirt-qemu", '
    'Fedora/RHEL: "qemu") so a guest that escapes QEMU does not own the host.',
    (f"{_LQ}: user/group", "https://libvirt.org/drvqemu.html#posix-users-groups", "KVM KVM-01"),
    rationale=(
        "QEMU parses everything a guest sends; run as root, a guest that escapes through a "
        "device-emulation bug owns the host."
    ),
)
CONFINEMENT = Rule(
    "qemuconf.confinement",
    "QEMU confinement is switched off",
    Severity.HIGH,
    Threat.VM_ESCAPE,
    "Remove the setting (the defaults confine every guest): keep security_driver on "
    "apparmor/selinux, security_default_confined = 1, seccomp_sandbox = 1 and the mount "
    "namespace.",
    (
        f"{_LQ}: security_driver, security_default_confined, seccomp_sandbox, namespaces",
        "https://libvirt.org/drvqemu.html#driver-security-architecture",
        "KVM KVM-02: security_driver",
        "KVM KVM-02: security_default_confined",
        "KVM KVM-03: seccomp_sandbox",
        "KVM KVM-04: namespaces",
    ),
    rationale=(
        "Without SELinux/AppArmor confinement, sVirt labels or namespaces, a QEMU process taken "
        "over by a guest can reach every other guest's disks and the host's files."
    ),
)
REMOTE_DISPLAY = Rule(
    "qemuconf.remote-display",
    "Guest consoles listen on the network without TLS or authentication",
    Severity.HIGH,
    Threat.HOST_MONITORING,
    "Keep vnc_listen/spice_listen on 127.0.0.1 (reach consoles through SSH or the "
    "management stack), or turn on vnc_tls/spice_tls with vnc_sasl or a password.",
    (
        f"{_LQ}: vnc_listen, vnc_tls, vnc_sasl, spice_listen, spice_tls",
        "CIS KVM/libvirt",
        "KVM KVM-07",
    ),
    rationale=(
        "A VNC or SPICE console listening on the network without TLS or a password gives anyone "
        "who reaches the port a guest's keyboard and screen."
    ),
)
MISC = Rule(
    "qemuconf.misc",
    "Weakening QEMU driver setting",
    Severity.LOW,
    Threat.VM_ESCAPE,
    "Remove the setting or set it to the value named in the evidence.",
    (
        _LQ,
        "KVM KVM-05: dynamic_ownership",
        "KVM KVM-08: migrate_tls_force",
        "KVM KVM-09: chardev_tls",
    ),
    rationale=(
        "These driver settings remove protections (seccomp sandboxing, device ACLs, dynamic "
        "ownership) that limit what a compromised QEMU can do."
    ),
)
RULES = (ROOT, CONFINEMENT, REMOTE_DISPLAY, MISC)


@dataclass(frozen=True, slots=True)
class KeyRow:
    """One declared "this value of this key is unsafe" rule."""

    key: str
    unsafe: ConfValue
    why: str
    threat: Threat
    safe: str
    """What to set instead."""


CONFINEMENT_KEYS = (
    KeyRow("security_driver", "none", "no sVirt labels: guests are not confined by AppArmor/SELinux", Threat.VM_ESCAPE, '"apparmor" or "selinux"'),  # noqa: E501
    KeyRow("security_default_confined", 0, "guests are unconfined unless their XML asks", Threat.VM_ESCAPE, "1"),  # noqa: E501
    KeyRow("seccomp_sandbox", 0, "QEMU runs without its seccomp system-call filter", Threat.VM_ESCAPE, "1"),  # noqa: E501
    KeyRow("namespaces", (), "QEMU shares the host's mount namespace and /dev", Threat.VM_ESCAPE, '[ "mount" ]'),  # noqa: E501
)  # fmt: skip
MISC_KEYS = (
    KeyRow("migrate_tls_force", 0, "migrations may carry guest memory in clear text", Threat.HOST_MONITORING, "1"),  # noqa: E501
    KeyRow("relaxed_acs_check", 1, "devices without ACS isolation may be passed through", Threat.VM_ESCAPE, "0"),  # noqa: E501
    KeyRow("sched_core", "none", "vCPUs of different guests share SMT siblings", Threat.GUEST_TO_GUEST, '"vcpus" or "full"'),  # noqa: E501
    KeyRow("stdio_handler", "file", "guest console output can fill the host's disk", Threat.DENIAL_OF_SERVICE, '"logd"'),  # noqa: E501
    KeyRow("dump_guest_core", 1, "QEMU core dumps include guest memory", Threat.HOST_MONITORING, "0"),  # noqa: E501
    KeyRow("dynamic_ownership", 0, "libvirt no longer hands each guest only its own image files", Threat.VM_ESCAPE, "1"),  # noqa: E501
    KeyRow("chardev_tls", 0, "TCP character devices (serial consoles) carry data in clear text", Threat.HOST_MONITORING, "1"),  # noqa: E501
)  # fmt: skip


def _shown(value: ConfValue) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return f'"{value}"' if isinstance(value, str) else str(value)


def _is_unsafe(entry: ConfEntry, row: KeyRow) -> bool:
    if isinstance(row.unsafe, str) and isinstance(entry.value, tuple):
        return row.unsafe in entry.value  # security_driver may be a list
    return entry.value == row.unsafe


def _row_finding(rule: Rule, conf: ConfFile, entry: ConfEntry, row: KeyRow) -> Finding:
    return Finding(
        rule_id=rule.rule_id,
        title=rule.title,
        severity=rule.severity,
        threat=row.threat,
        location=Location(conf.path, Area.CONFIG, entry.line),
        evidence=f"{row.key} = {_shown(entry.value)}: {row.why}",
        remediation=f"Set {row.key} = {row.safe} or remove the line. {rule.remediation}",
        references=rule.references,
    )


def _display(conf: ConfFile, proto: str) -> Finding | None:
    if proto == "vnc" and conf.number("vnc_auto_unix_socket") == 1:
        return None  # VNC goes to a UNIX socket only
    listen = conf.get(f"{proto}_listen")
    if listen is None or not isinstance(listen.value, str) or listen.value in _LOOPBACK:
        return None
    tls = conf.number(f"{proto}_tls") == 1
    auth = bool(conf.text(f"{proto}_password")) or conf.number(f"{proto}_sasl") == 1
    if tls and auth:
        return None
    missing = [what for what, ok in (("TLS", tls), ("password or SASL", auth)) if not ok]
    return REMOTE_DISPLAY.finding(
        conf.path,
        f'{proto}_listen = "{listen.value}" without {" and ".join(missing)}'
        + ("; the password is set" if conf.text(f"{proto}_password") else ""),
        line=listen.line,
        area=Area.CONFIG,
        severity=Severity.HIGH if not auth else Severity.MEDIUM,
    )


def _root(conf: ConfFile) -> Iterator[Finding]:
    for key in ("user", "group"):
        entry = conf.get(key)
        if entry is not None and entry.value in ("root", "+0", 0):
            yield ROOT.finding(
                conf.path,
                f"{key} = {_shown(entry.value)}",
                line=entry.line,
                area=Area.CONFIG,
                severity=Severity.HIGH if key == "user" else Severity.MEDIUM,
            )


class QemuConfCheck:
    """qemu.conf settings that run QEMU as root, unconfined, or with open consoles.

    A QEMU escape lands in whatever QEMU runs as: root and no sVirt/seccomp means the
    whole host and every other guest. Consoles on 0.0.0.0 without TLS and authentication
    hand a guest's screen and keyboard to anyone on the network.
    """

    rules: tuple[Rule, ...] = RULES

    def check(self, facts: HostFacts) -> Iterator[Finding]:
        """Findings for the parsed qemu.conf (nothing when it is absent)."""
        conf = facts.qemu_conf
        if conf is None:
            return
        yield from _root(conf)
        for rule, rows in ((CONFINEMENT, CONFINEMENT_KEYS), (MISC, MISC_KEYS)):
            for row in rows:
                entry = conf.get(row.key)
                if entry is not None and _is_unsafe(entry, row):
                    yield _row_finding(rule, conf, entry, row)
        for proto in ("vnc", "spice"):
            if (finding := _display(conf, proto)) is not None:
                yield finding
