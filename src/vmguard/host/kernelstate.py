"""What the kernel reports under ``/sys`` and ``/proc``: CPU vulnerabilities, SMT, KSM,
IOMMU, VFIO, MAC state and the running VMM processes.

Read through ``HostRoot`` only, so an offline root's ``DIR/sys`` and ``DIR/proc`` are read
the same way as the live ones. Every file is small and read with a bound; this module must
never write to /sys or /proc (no "echo 2 > ksm/run" here) and never signal a process.
"""

from __future__ import annotations

from dataclasses import dataclass

from vmguard.guest.facts import guest_text
from vmguard.guest.view import GuestFileTooLarge
from vmguard.host.root import HostRoot, join
from vmguard.text import is_decimal

SMALL = 64 * 1024
VULNERABILITIES = "/sys/devices/system/cpu/vulnerabilities"
MAX_PROCESSES = 100_000
VMM_COMMANDS = ("qemu-system-", "qemu-kvm")
"""Prefixes of the process names (/proc/PID/comm, 15 characters) of a VMM."""


@dataclass(frozen=True, slots=True)
class VmmProcess:
    """A running VMM process."""

    pid: int
    command: str
    uid: int | None
    """Effective uid from /proc/PID/status."""
    label: str
    """MAC label from /proc/PID/attr/current ("" when the kernel has no MAC)."""


@dataclass(frozen=True, slots=True)
class KernelState:
    """Facts the kernel reports about side channels, isolation and confinement."""

    sysfs: bool = False
    """The root has a populated /sys (an offline copy often has not: then nothing is known)."""
    vulnerabilities: tuple[tuple[str, str], ...] = ()
    """(name, kernel text) per file of /sys/devices/system/cpu/vulnerabilities."""
    smt_control: str | None = None
    """on, off, forceoff, notsupported, notimplemented; None when unknown."""
    smt_active: bool | None = None
    ksm_run: int | None = None
    """/sys/kernel/mm/ksm/run: 0 stopped, 1 running, 2 unmerging."""
    ksm_pages_sharing: int | None = None
    iommu_units: int = 0
    """Entries of /sys/class/iommu (DMAR/AMD-Vi units the kernel drives)."""
    iommu_groups: int = 0
    vfio_devices: tuple[str, ...] = ()
    """PCI addresses bound to vfio-pci (devices handed to guests)."""
    cmdline: str = ""
    apparmor_enabled: bool | None = None
    apparmor_profiles: tuple[tuple[str, str], ...] = ()
    """(profile, mode) of loaded AppArmor profiles."""
    selinux_enforce: int | None = None
    """/sys/fs/selinux/enforce, None when SELinux is not active."""
    processes: tuple[VmmProcess, ...] = ()


def _small(root: HostRoot, path: str) -> str | None:
    try:
        text = root.read_text(path, SMALL)
    except GuestFileTooLarge:
        return None
    return None if text is None else guest_text(text.strip(), max_chars=1024)


def _integer(root: HostRoot, path: str) -> int | None:
    text = _small(root, path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _vulnerabilities(root: HostRoot) -> tuple[tuple[str, str], ...]:
    found = []
    for name in root.list_dir(VULNERABILITIES) or []:
        text = _small(root, join(VULNERABILITIES, name))
        if text is not None:
            found.append((guest_text(name), text))
    return tuple(found)


def _apparmor(root: HostRoot) -> tuple[bool | None, tuple[tuple[str, str], ...]]:
    enabled_text = _small(root, "/sys/module/apparmor/parameters/enabled")
    enabled = None if enabled_text is None else enabled_text.upper().startswith("Y")
    profiles: list[tuple[str, str]] = []
    try:
        listing = root.read_text("/sys/kernel/security/apparmor/profiles", 16 * 1024 * 1024)
    except GuestFileTooLarge:
        listing = None
    for line in (listing or "").splitlines():
        name, _, mode = line.rpartition(" (")
        if name and mode.endswith(")"):
            profiles.append((guest_text(name), guest_text(mode[:-1])))
    return enabled, tuple(profiles)


def _process(root: HostRoot, pid: int) -> VmmProcess | None:
    command = _small(root, f"/proc/{pid}/comm")
    if command is None or not command.startswith(VMM_COMMANDS):
        return None
    uid = None
    try:
        status = root.read_text(f"/proc/{pid}/status", SMALL) or ""
    except GuestFileTooLarge:
        status = ""
    for line in status.splitlines():
        if line.startswith("Uid:"):
            fields = line.split()
            uid = int(fields[2]) if len(fields) > 2 and is_decimal(fields[2]) else None
    label = _small(root, f"/proc/{pid}/attr/current") or ""
    return VmmProcess(pid, command, uid, label.rstrip("\x00"))


def _processes(root: HostRoot) -> tuple[VmmProcess, ...]:
    pids = [int(n) for n in root.list_dir("/proc") or [] if is_decimal(n)]
    found = []
    for pid in sorted(pids)[:MAX_PROCESSES]:
        process = _process(root, pid)
        if process is not None:
            found.append(process)
    return tuple(found)


def read_kernel_state(root: HostRoot) -> KernelState:
    """Everything above, read from ``root``'s /sys and /proc (absent files stay None)."""
    apparmor_enabled, profiles = _apparmor(root)
    vfio = root.list_dir("/sys/bus/pci/drivers/vfio-pci") or []
    return KernelState(
        sysfs=bool(root.list_dir("/sys/devices") or root.list_dir("/sys/kernel")),
        vulnerabilities=_vulnerabilities(root),
        smt_control=_small(root, "/sys/devices/system/cpu/smt/control"),
        smt_active=(
            None
            if (active := _integer(root, "/sys/devices/system/cpu/smt/active")) is None
            else active == 1
        ),
        ksm_run=_integer(root, "/sys/kernel/mm/ksm/run"),
        ksm_pages_sharing=_integer(root, "/sys/kernel/mm/ksm/pages_sharing"),
        iommu_units=len(root.list_dir("/sys/class/iommu") or []),
        iommu_groups=len(root.list_dir("/sys/kernel/iommu_groups") or []),
        vfio_devices=tuple(guest_text(n) for n in vfio if n.count(":") == 2),
        cmdline=_small(root, "/proc/cmdline") or "",
        apparmor_enabled=apparmor_enabled,
        apparmor_profiles=profiles,
        selinux_enforce=_integer(root, "/sys/fs/selinux/enforce"),
        processes=_processes(root),
    )
