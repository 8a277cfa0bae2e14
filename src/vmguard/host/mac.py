"""Checks of mandatory access control (AppArmor / SELinux) for the VMM, and of the identity
the running VMM processes have.

libvirt's sVirt confines each QEMU with its own AppArmor profile or SELinux category, so
an escaped guest cannot open another guest's disk. Works on ``HostFacts``; this module must
never read /sys or /proc itself.
"""

from __future__ import annotations

from collections.abc import Iterator

from vmguard.findings import Area, Finding, Rule, Severity, Threat
from vmguard.host.facts import HostFacts

_SVIRT = "https://libvirt.org/drvqemu.html#driver-security-architecture"

MAC_OFF = Rule(
    "host.mac-off",
    "No mandatory access control confines the VMM",
    Severity.HIGH,
    Threat.VM_ESCAPE,
    "Boot with AppArmor (Debian/Ubuntu/SUSE) or SELinux enforcing (Fedora/RHEL) so libvirt "
    "can confine each guest's QEMU (sVirt).",
    (_SVIRT, "https://wiki.debian.org/AppArmor/HowToUse", "KVM KVM-12"),
    rationale=(
        "Mandatory access control (sVirt) is what keeps a compromised QEMU away from other guests' "
        "disks and the host's files."
    ),
)
SELINUX_PERMISSIVE = Rule(
    "host.selinux-permissive",
    "SELinux does not enforce its policy",
    Severity.HIGH,
    Threat.VM_ESCAPE,
    "Set SELINUX=enforcing in /etc/selinux/config and setenforce 1.",
    (_SVIRT, "KVM KVM-12"),
    rationale=(
        "A permissive SELinux only logs the denials it would make, so sVirt does not actually "
        "separate the guests."
    ),
)
PROFILE_OFF = Rule(
    "host.vmm-profile-disabled",
    "The AppArmor profile of libvirt or QEMU is disabled or only complains",
    Severity.MEDIUM,
    Threat.VM_ESCAPE,
    "Remove the link from /etc/apparmor.d/disable and aa-enforce the profile.",
    (_SVIRT, "https://gitlab.com/apparmor/apparmor/-/wikis/Libvirt", "KVM KVM-12"),
    rationale=(
        "A disabled or complain-mode AppArmor profile leaves libvirt or QEMU unconfined: an escape "
        "reaches whatever the process's user can."
    ),
)
UNCONFINED = Rule(
    "host.vmm-unconfined",
    "A running QEMU process is not confined",
    Severity.HIGH,
    Threat.VM_ESCAPE,
    "Restart the guest after fixing qemu.conf's security_driver and the MAC policy; a "
    "confined QEMU runs as libvirt-<uuid> (AppArmor) or svirt_t (SELinux).",
    (_SVIRT, "KVM KVM-12"),
    rationale=(
        "An unconfined QEMU process is not separated from other guests' resources if the guest "
        "takes it over."
    ),
)
ROOT_PROCESS = Rule(
    "host.vmm-process-root",
    "A running QEMU process runs as root",
    Severity.HIGH,
    Threat.VM_ESCAPE,
    "Set user/group in qemu.conf to the unprivileged QEMU account and restart the guest.",
    ("libvirt src/qemu/qemu.conf.in: user/group", "KVM KVM-01"),
    rationale=(
        "A QEMU process running as root turns any guest escape into full control of the host."
    ),
)
RULES = (MAC_OFF, SELINUX_PERMISSIVE, PROFILE_OFF, UNCONFINED, ROOT_PROCESS)
_VMM_PROFILES = ("usr.sbin.libvirtd", "usr.sbin.virtqemud", "usr.lib.libvirt.virt-aa-helper")


def _state(facts: HostFacts) -> Iterator[Finding]:
    kernel = facts.kernel
    apparmor = kernel.apparmor_enabled is True
    selinux = kernel.selinux_enforce is not None
    if kernel.sysfs and not apparmor and not selinux:
        yield MAC_OFF.finding(
            "/sys/kernel/security",
            "neither AppArmor (/sys/module/apparmor) nor SELinux (/sys/fs/selinux) is active",
            area=Area.HOST,
        )
    if kernel.selinux_enforce == 0:
        yield SELINUX_PERMISSIVE.finding(
            "/sys/fs/selinux/enforce", "enforce = 0 (permissive)", area=Area.HOST
        )
    if facts.selinux_config in ("permissive", "disabled"):
        yield SELINUX_PERMISSIVE.finding(
            "/etc/selinux/config",
            f"SELINUX={facts.selinux_config} at the next boot",
            area=Area.CONFIG,
            severity=Severity.MEDIUM,
        )
    for name in facts.apparmor_disabled:
        if name in _VMM_PROFILES:
            yield PROFILE_OFF.finding(
                f"/etc/apparmor.d/disable/{name}", f"profile {name} disabled", area=Area.CONFIG
            )
    for profile, mode in kernel.apparmor_profiles:
        vmm = profile.startswith("libvirt-") or profile in ("libvirtd", "virtqemud")
        vmm = vmm or profile.endswith(("/libvirtd", "/virtqemud"))
        if vmm and mode != "enforce":
            yield PROFILE_OFF.finding(
                "/sys/kernel/security/apparmor/profiles", f"{profile} ({mode})", area=Area.HOST
            )


def _processes(facts: HostFacts) -> Iterator[Finding]:
    mac_active = facts.kernel.apparmor_enabled is True or facts.kernel.selinux_enforce is not None
    for process in facts.kernel.processes:
        where = f"/proc/{process.pid}"
        label = process.label
        if mac_active and (not label or label == "unconfined" or ":unconfined_t:" in label):
            yield UNCONFINED.finding(
                where,
                f"{process.command} (pid {process.pid}) label {label or 'none'}",
                area=Area.HOST,
            )
        elif label.endswith("(complain)"):
            yield UNCONFINED.finding(
                where,
                f"{process.command} (pid {process.pid}) label {label}",
                area=Area.HOST,
                severity=Severity.MEDIUM,
            )
        if process.uid == 0:
            yield ROOT_PROCESS.finding(
                where, f"{process.command} (pid {process.pid}) uid 0", area=Area.HOST
            )


class MacCheck:
    """Whether AppArmor/SELinux confine the VMM, and how running QEMU processes run.

    Without MAC, a guest that escapes into its QEMU process has every file the QEMU user
    can open, including the other guests' disks (they share that user). A QEMU running as
    root or unconfined turns any QEMU bug into a host compromise.
    """

    rules: tuple[Rule, ...] = RULES

    def check(self, facts: HostFacts) -> Iterator[Finding]:
        """Findings for the MAC state (hypervisor hosts only) and each VMM process."""
        if facts.hypervisor_installed:
            yield from _state(facts)
        yield from _processes(facts)
