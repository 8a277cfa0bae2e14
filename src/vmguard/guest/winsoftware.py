"""Installed programs and services of a Windows guest, from its SOFTWARE and SYSTEM hives.

Programs are the entries of the Uninstall keys — the 64-bit view and the 32-bit one under
WOW6432Node — as "Apps & features" lists them: each with a DisplayName, its
DisplayVersion and Publisher. Services are the Win32 services (not drivers) of the current
control set (``Select\\Current``), with their start type.
"""

from __future__ import annotations

from vmguard.guest.errors import GuestFactsError
from vmguard.guest.facts import Gathered, InstalledPackage, ServiceInfo
from vmguard.guest.registry import Hive
from vmguard.guest.windows import SystemHives
from vmguard.problems import Problem

UNINSTALL_VIEWS = (
    ("Microsoft\\Windows\\CurrentVersion\\Uninstall", ""),
    ("WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall", "i386"),
)
"""(key below SOFTWARE, architecture of the programs it lists; "" = the OS's own)."""
START_TYPES = {0: "boot", 1: "system", 2: "automatic", 3: "manual", 4: "disabled"}
_DRIVER_TYPES = 0x0F  # kernel driver 0x1, file-system driver 0x2, adapters 0x4/0x8


def programs(software: Hive, os_arch: str) -> list[InstalledPackage]:
    """Programs of both Uninstall views of a SOFTWARE hive."""
    found: list[InstalledPackage] = []
    for key_path, arch in UNINSTALL_VIEWS:
        uninstall = software.key(key_path)
        if uninstall is None:
            continue
        for entry in uninstall.subkeys():
            name = entry.text("DisplayName")
            if not name:
                continue  # not shown by Windows either (patch records, leftovers)
            found.append(
                InstalledPackage(
                    name=name,
                    version=entry.text("DisplayVersion"),
                    arch=arch or os_arch,
                    manager="windows",
                    vendor=entry.text("Publisher"),
                )
            )
    return found


def services(system: Hive) -> list[ServiceInfo]:
    """Win32 services of the current control set, sorted by name."""
    root = system.key(f"{system.current_control_set()}\\Services")
    if root is None:
        return []
    found: list[ServiceInfo] = []
    for entry in root.subkeys():
        kind = entry.number("Type")
        if kind is None or kind & ~_DRIVER_TYPES == 0:
            continue  # a driver, or a key that is no service (no Type)
        start = entry.number("Start")
        found.append(
            ServiceInfo(
                name=entry.name,
                start=START_TYPES.get(start, str(start)) if start is not None else "",
                display_name=entry.text("DisplayName"),
                image=entry.text("ImagePath"),
                account=entry.text("ObjectName"),
            )
        )
    return sorted(found, key=lambda s: s.name.casefold())


def windows_software(
    hives: SystemHives, os_arch: str
) -> Gathered[tuple[tuple[InstalledPackage, ...], tuple[ServiceInfo, ...]]]:
    """Programs and services; a hive that cannot be read is a problem, the other still read."""
    problems: list[Problem] = []
    found_programs: list[InstalledPackage] = []
    found_services: list[ServiceInfo] = []
    try:
        if hives.software is not None:
            found_programs = programs(hives.software, os_arch)
    except GuestFactsError as err:
        problems.append(err.problem())
    try:
        if hives.system is not None:
            found_services = services(hives.system)
    except GuestFactsError as err:
        problems.append(err.problem())
    return Gathered((tuple(found_programs), tuple(found_services)), tuple(problems))
