"""The QEMU driver's cgroup device policy in ``/etc/libvirt/qemu.conf``.

libvirt puts each QEMU process in a cgroup whose device controller allows only the guest's
own devices plus ``cgroup_device_acl``. Widening that list, or switching the controllers
off, lets an escaped QEMU open host block and character devices. This module must never
read a file (its input is the parsed ``ConfFile`` in ``HostFacts``).
"""

from __future__ import annotations

from collections.abc import Iterator

from vmguard.findings import Area, Finding, Rule, Severity, Threat
from vmguard.host.facts import HostFacts

DEFAULT_ACL = frozenset(
    {
        "/dev/null",
        "/dev/full",
        "/dev/zero",
        "/dev/random",
        "/dev/urandom",
        "/dev/ptmx",
        "/dev/kvm",
        "/dev/userfaultfd",
        "/dev/rtc",
        "/dev/hpet",
        "/dev/sev",
    }
)
"""The devices libvirt's own default lists (qemu.conf.in, across releases)."""

CGROUP = Rule(
    "qemuconf.cgroup",
    "QEMU's cgroup device policy lets guests' QEMU open host devices",
    Severity.HIGH,
    Threat.VM_ESCAPE,
    "Remove cgroup_device_acl (or keep it to libvirt's default list) and do not empty "
    "cgroup_controllers; pass devices to a guest through its domain XML instead.",
    (
        "libvirt src/qemu/qemu.conf.in: cgroup_controllers, cgroup_device_acl",
        "https://libvirt.org/cgroups.html",
        "KVM KVM-06",
    ),
    rationale=(
        "The cgroup device list is a last line of defence: when it lets QEMU open host devices, a "
        "compromised QEMU can read or write host disks directly."
    ),
)
RULES = (CGROUP,)


def _acl(facts: HostFacts) -> Iterator[Finding]:
    conf = facts.qemu_conf
    if conf is None:
        return
    acl = conf.get("cgroup_device_acl")
    if acl is not None and isinstance(acl.value, tuple):
        extra = sorted(str(v) for v in acl.value if str(v) not in DEFAULT_ACL)
        if extra:
            yield CGROUP.finding(
                conf.path,
                f"cgroup_device_acl adds host devices: {', '.join(extra[:8])}"
                + (f" (+{len(extra) - 8} more)" if len(extra) > 8 else ""),
                line=acl.line,
                area=Area.CONFIG,
            )
    controllers = conf.get("cgroup_controllers")
    if controllers is not None and isinstance(controllers.value, tuple):
        if not controllers.value:
            yield CGROUP.finding(
                conf.path,
                "cgroup_controllers = [ ]: no device, CPU or memory controls on QEMU",
                line=controllers.line,
                area=Area.CONFIG,
            )
        elif "devices" not in controllers.value:
            yield CGROUP.finding(
                conf.path,
                'cgroup_controllers omits "devices": the device ACL is not enforced',
                line=controllers.line,
                area=Area.CONFIG,
                severity=Severity.MEDIUM,
            )


class QemuCgroupCheck:
    """qemu.conf cgroup settings that open host devices to QEMU.

    The device cgroup is the layer that stops a compromised QEMU from opening /dev/sda or
    /dev/mem even when DAC and MAC labels would allow it.
    """

    rules: tuple[Rule, ...] = RULES

    def check(self, facts: HostFacts) -> Iterator[Finding]:
        """Findings for the parsed qemu.conf (nothing when it is absent)."""
        yield from _acl(facts)
