"""OS facts of a Windows guest, from its SOFTWARE and SYSTEM registry hives.

Hives are found with case-insensitive lookups (NTFS and FAT keep whatever case the
installer used) and read through ``vmguard.guest.registry`` (in memory, bounded).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from weakref import WeakKeyDictionary

from vmguard.guest.errors import GuestFactsError
from vmguard.guest.facts import Gathered, OsFacts
from vmguard.guest.registry import HIVE_MAX, Hive, child_named
from vmguard.guest.view import GuestView
from vmguard.problems import Problem

__all__ = [
    "HIVE_MAX",
    "SystemHives",
    "find_hive",
    "is_windows",
    "open_system_hive",
    "open_system_hives",
    "read_windows_os",
    "windows_os",
]

SYSTEM_ROOTS = ("windows", "winnt")
CONFIG_DIR = ("system32", "config")
CURRENT_VERSION = "Microsoft\\Windows NT\\CurrentVersion"

_ARCHITECTURES = {
    "amd64": "x86_64",
    "x86": "i386",
    "arm64": "aarch64",
    "arm": "arm",
    "ia64": "ia64",
}


def find_hive(view: GuestView, hive: str) -> str | None:
    """Guest path of ``<SystemRoot>/System32/config/<hive>``, any case; None if absent."""
    path: str | None = "/"
    for wanted in (SYSTEM_ROOTS, CONFIG_DIR[:1], CONFIG_DIR[1:], (hive.casefold(),)):
        path = child_named(view, path, wanted) if path is not None else None
    return path


def _software_facts(hive: Hive) -> OsFacts:
    """Product, version and edition from SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion."""
    key = hive.key(CURRENT_VERSION)
    if key is None:
        raise GuestFactsError(hive.path, f"no {CURRENT_VERSION} key")
    major = key.value("CurrentMajorVersionNumber")
    minor = key.value("CurrentMinorVersionNumber")
    if isinstance(major, int) and isinstance(minor, int):
        base = f"{major}.{minor}"
    else:
        base = key.text("CurrentVersion")
    build = key.text("CurrentBuildNumber") or key.text("CurrentBuild")
    version = f"{base}.{build}" if base and build else base or build
    return OsFacts(
        family="windows",
        distro="windows",
        version=version,
        pretty_name=key.text("ProductName"),
        codename=key.text("DisplayVersion") or key.text("ReleaseId"),
        edition=key.text("EditionID"),
    )


def _system_facts(hive: Hive) -> tuple[str, str]:
    """(host name, architecture) from the current control set of the SYSTEM hive."""
    control = f"{hive.current_control_set()}\\Control"
    name_key = hive.key(f"{control}\\ComputerName\\ComputerName")
    env_key = hive.key(f"{control}\\Session Manager\\Environment")
    hostname = name_key.text("ComputerName") if name_key is not None else ""
    if not hostname:  # what the TCP/IP stack announces, when ComputerName is not set
        tcpip = hive.key(f"{hive.current_control_set()}\\Services\\Tcpip\\Parameters")
        hostname = tcpip.text("Hostname") if tcpip is not None else ""
    machine = env_key.text("PROCESSOR_ARCHITECTURE").casefold() if env_key is not None else ""
    return hostname, _ARCHITECTURES.get(machine, machine)


_OPENED: WeakKeyDictionary[GuestView, dict[str, Hive]] = WeakKeyDictionary()
"""Hives opened per guest view, for as long as the view lives: inspect and three Windows
checks each ask for SOFTWARE or SYSTEM (tens of megabytes on a real guest), which is then
read and parsed once per scan, not three times."""


def open_system_hive(view: GuestView, name: str) -> Hive | None:
    """The hive ``<SystemRoot>/System32/config/<name>``, None when the guest has none (a
    hive that fails to open raises each time: failures are not kept)."""
    path = find_hive(view, name)
    if path is None:
        return None
    try:
        opened = _OPENED.setdefault(view, {})
    except TypeError:  # a view that cannot be weakly referenced: nothing kept
        return Hive(view, path)
    hive = opened.get(path)
    if hive is None:
        hive = opened[path] = Hive(view, path)
    return hive


def is_windows(view: GuestView) -> bool:
    """Whether the guest has a Windows SOFTWARE hive (the detection used by inspect)."""
    try:
        return find_hive(view, "SOFTWARE") is not None
    except GuestFactsError:
        return False


@dataclass(frozen=True, slots=True)
class SystemHives:
    """The SOFTWARE and SYSTEM hives of a guest, each opened once (None when absent or
    unreadable: then its problem is in ``problems``)."""

    software: Hive | None
    system: Hive | None
    problems: tuple[Problem, ...] = ()


def open_system_hives(view: GuestView) -> SystemHives:
    """Open SOFTWARE and SYSTEM; a hive that cannot be read becomes a problem."""
    opened: dict[str, Hive | None] = {}
    problems: list[Problem] = []
    for name in ("SOFTWARE", "SYSTEM"):
        try:
            opened[name] = open_system_hive(view, name)
        except GuestFactsError as err:
            opened[name] = None
            problems.append(err.problem())
    return SystemHives(opened["SOFTWARE"], opened["SYSTEM"], tuple(problems))


def windows_os(hives: SystemHives) -> Gathered[OsFacts]:
    """OS facts from opened hives; what cannot be read becomes a problem."""
    problems: list[Problem] = []
    facts = OsFacts(family="windows", distro="windows")
    try:
        if hives.software is not None:
            facts = _software_facts(hives.software)
    except GuestFactsError as err:
        problems.append(err.problem())
    try:
        if hives.system is not None:
            hostname, arch = _system_facts(hives.system)
            facts = replace(facts, hostname=hostname, arch=arch)
    except GuestFactsError as err:
        problems.append(err.problem())
    return Gathered(facts, tuple(problems))


def read_windows_os(view: GuestView) -> Gathered[OsFacts]:
    """OS facts of a Windows guest; hives that cannot be read become problems."""
    hives = open_system_hives(view)
    found = windows_os(hives)
    return Gathered(found.value, hives.problems + found.problems)
