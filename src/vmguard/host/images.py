"""Checks of VM disk images and definitions on the host: who can read or write them, and
whether they live where the hypervisor's confinement and backups expect them.

Works on ``Definitions`` (stat results gathered through ``HostRoot``); this module must
never open an image or a definition.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator

from vmguard.findings import Area, Finding, Rule, Severity, Threat
from vmguard.guest.view import GuestStat
from vmguard.host.domains import DOMAIN_DIR, EXPECTED_IMAGE_DIRS, ImageFile
from vmguard.host.facts import Accounts, HostFacts

_REFS = (
    "https://libvirt.org/drvqemu.html#posix-users-groups",
    "https://libvirt.org/storage.html",
)
_VMM_USERS = ("libvirt-qemu", "qemu")
_VMM_GROUPS = ("libvirt-qemu", "qemu", "kvm", "disk")

IMAGE_READABLE = Rule(
    "host.image-world-readable",
    "VM disk image readable by every host user",
    Severity.HIGH,
    Threat.HOST_MONITORING,
    "chmod o-rwx the image (libvirt's dynamic ownership gives QEMU its own access).",
    _REFS,
    rationale=(
        "A disk image readable by every host user hands out the guest's whole file system: its "
        "secrets, keys and data."
    ),
)
IMAGE_WRITABLE = Rule(
    "host.image-writable",
    "VM disk image writable by users other than the VMM",
    Severity.CRITICAL,
    Threat.VM_MODIFICATION,
    "chmod go-w the image and chown it to root or the QEMU user.",
    _REFS,
    rationale=(
        "A user who can write a guest's disk image can plant code in the guest or corrupt it, "
        "bypassing everything inside the guest."
    ),
)
IMAGE_FOREIGN = Rule(
    "host.image-foreign-access",
    "VM disk image owned by, or group-readable for, an account other than the VMM",
    Severity.MEDIUM,
    Threat.HOST_MONITORING,
    "chown the image to root or the QEMU user and a VMM group, and remove group access "
    "for other groups.",
    _REFS,
    rationale=(
        "An image owned by or readable for another account lets that account, or whatever "
        "compromises it, read the guest's data."
    ),
)
IMAGE_PLACE = Rule(
    "host.image-outside-dirs",
    "VM disk image outside the expected image directories",
    Severity.LOW,
    Threat.HOST_MONITORING,
    "Keep images in /var/lib/libvirt/images or a defined storage pool, where the MAC "
    "policy, permissions and backups expect them.",
    _REFS,
    rationale=(
        "Images outside the directories the MAC policy and backups expect escape their labels and "
        "protections, and are easy to miss."
    ),
)
DEFINITION_ACCESS = Rule(
    "host.definition-permissions",
    "VM definition writable by users other than root",
    Severity.HIGH,
    Threat.VM_MODIFICATION,
    "chown root:root and chmod 600 the domain XML under /etc/libvirt/qemu.",
    _REFS,
    rationale=(
        "Whoever can edit a VM definition can attach host devices or disks to the guest and change "
        "how it is isolated."
    ),
)
DEFINITION_PLACE = Rule(
    "host.definition-outside-dir",
    "VM definition resolves outside /etc/libvirt/qemu",
    Severity.MEDIUM,
    Threat.VM_MODIFICATION,
    "Replace the link with the definition itself (virsh define), so that it has the "
    "protection of /etc/libvirt/qemu.",
    _REFS,
    rationale=(
        "A definition that resolves outside libvirt's directory (a symbolic link) can be changed "
        "by whoever owns its real location."
    ),
)
RULES = (IMAGE_READABLE, IMAGE_WRITABLE, IMAGE_FOREIGN, IMAGE_PLACE, DEFINITION_ACCESS,
         DEFINITION_PLACE)  # fmt: skip


def _vmm_ids(facts: HostFacts) -> tuple[set[int], set[int]]:
    """(uids, gids) allowed to own and share images: root and the QEMU user and groups."""
    accounts: Accounts = facts.accounts
    conf = facts.qemu_conf
    users = [conf.text("user") if conf else None, *_VMM_USERS]
    groups = [conf.text("group") if conf else None, *_VMM_GROUPS]
    uids = {0} | {u for n in users if n and (u := accounts.uid(n)) is not None}
    gids = {0} | {g for n in groups if n and (g := accounts.gid(n)) is not None}
    return uids, gids


def _who(info: GuestStat, accounts: Accounts) -> str:
    return (
        f"mode {stat.S_IMODE(info.mode):04o} "
        f"owner {accounts.user_name(info.uid)}:{accounts.group_name(info.gid)}"
    )


def _under(path: str, directories: tuple[str, ...]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in directories)


def _image(image: ImageFile, facts: HostFacts, uids: set[int], gids: set[int]) -> Iterator[Finding]:
    info = image.stat
    if info is None or not (stat.S_ISREG(info.mode) or stat.S_ISBLK(info.mode)):
        return
    users = f" (used by {', '.join(image.domains)})" if image.domains else " (no domain uses it)"
    who = _who(info, facts.accounts) + users
    mode = info.mode
    if mode & 0o002 or (mode & 0o020 and info.gid not in gids):
        yield IMAGE_WRITABLE.finding(image.path, who, area=Area.HOST)
    if mode & 0o004:
        yield IMAGE_READABLE.finding(image.path, who, area=Area.HOST)
    elif info.uid not in uids or (mode & 0o040 and info.gid not in gids):
        yield IMAGE_FOREIGN.finding(image.path, who, area=Area.HOST)
    expected = (*EXPECTED_IMAGE_DIRS, *facts.definitions.pool_dirs)
    real = image.real or image.path
    if image.domains and stat.S_ISREG(mode) and not _under(real, expected):
        shown = image.path if real == image.path else f"{image.path} -> {real}"
        yield IMAGE_PLACE.finding(image.path, f"{shown}{users}", area=Area.HOST)


class ImagesCheck:
    """Disk images and domain definitions that other host users can read or change.

    A guest's disk holds its data and secrets; any host account that can read the image
    reads the guest (survey V.C), and one that can write it changes the guest's software
    (V.G). A definition writable by others chooses the guest's devices and firmware.
    """

    rules: tuple[Rule, ...] = RULES

    def check(self, facts: HostFacts) -> Iterator[Finding]:
        """Findings per image file and per domain definition."""
        uids, gids = _vmm_ids(facts)
        for image in facts.definitions.images:
            yield from _image(image, facts, uids, gids)
        for domain in facts.definitions.domains:
            info = domain.definition_stat
            if info is not None and (info.mode & 0o022 or info.uid != 0):
                yield DEFINITION_ACCESS.finding(
                    domain.definition,
                    f"domain {domain.name}: {_who(info, facts.accounts)}",
                    area=Area.HOST,
                )
            real = domain.definition_real
            if real is not None and not _under(real, (DOMAIN_DIR,)):
                yield DEFINITION_PLACE.finding(
                    domain.definition, f"domain {domain.name}: resolves to {real}", area=Area.HOST
                )
