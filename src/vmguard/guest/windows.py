"""OS facts of a Windows guest, from its SOFTWARE and SYSTEM registry hives.

Hives are found with case-insensitive lookups (NTFS and FAT keep whatever case the
installer used), read whole under ``HIVE_MAX`` into memory and handed to libregf
(pyregf) as a file object: libregf never sees a path, host or guest.
"""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import pyregf

from vmguard.errors import VmguardError
from vmguard.guest.errors import GuestFactsError, read_guest_file
from vmguard.guest.facts import FactProblem, Gathered, OsFacts, guest_text
from vmguard.guest.view import GuestView

HIVE_MAX = 256 * 1024 * 1024
"""Cap on one registry hive file."""

SYSTEM_ROOTS = ("windows", "winnt")
CONFIG_DIR = ("system32", "config")
CURRENT_VERSION = "Microsoft\\Windows NT\\CurrentVersion"
MAX_CONTROL_SET = 999

_REG_SZ, _REG_EXPAND_SZ, _REG_DWORD = 1, 2, 4
_ARCHITECTURES = {
    "amd64": "x86_64",
    "x86": "i386",
    "arm64": "aarch64",
    "arm": "arm",
    "ia64": "ia64",
}


def _child(view: GuestView, directory: str, wanted: tuple[str, ...]) -> str | None:
    """Path of the entry of ``directory`` whose name matches one of ``wanted`` (casefolded)."""
    try:
        names = view.list_dir(directory) or []
    except VmguardError as err:
        raise GuestFactsError(directory, err.diagnostics()) from err
    for name in sorted(names):
        if name.casefold() in wanted:
            return f"{directory.rstrip('/')}/{name}"
    return None


def find_hive(view: GuestView, hive: str) -> str | None:
    """Guest path of ``<SystemRoot>/System32/config/<hive>``, any case; None if absent."""
    path: str | None = "/"
    for wanted in (SYSTEM_ROOTS, CONFIG_DIR[:1], CONFIG_DIR[1:], (hive.casefold(),)):
        path = _child(view, path, wanted) if path is not None else None
    return path


def _open_hive(view: GuestView, path: str) -> Any:
    """A pyregf file over the hive's bytes, held in memory."""
    data = read_guest_file(view, path, HIVE_MAX)
    if data is None:
        raise GuestFactsError(path, "hive is not a regular file")
    hive = pyregf.file()
    try:
        hive.open_file_object(io.BytesIO(data))
    except (OSError, ValueError, TypeError) as err:
        raise GuestFactsError(path, f"unreadable registry hive: {err}") from err
    return hive


def _key(hive: Any, key_path: str, path: str) -> Any:
    """The key at ``key_path`` (None if absent); libregf failures become GuestFactsError."""
    try:
        return hive.get_key_by_path(key_path)
    except (OSError, ValueError, TypeError) as err:
        raise GuestFactsError(path, f"registry key {key_path}: {err}") from err


def _value(key: Any, name: str, path: str) -> str | int | None:
    """A REG_SZ/REG_EXPAND_SZ value as a clean string, a REG_DWORD as int, else None."""
    if key is None:
        return None
    try:
        value = key.get_value_by_name(name)
        if value is None:
            return None
        if value.type in (_REG_SZ, _REG_EXPAND_SZ):
            text = value.get_data_as_string()
            return guest_text(text) if isinstance(text, str) else None
        if value.type == _REG_DWORD:
            number = value.get_data_as_integer()
            return number if isinstance(number, int) else None
    except (OSError, ValueError, TypeError) as err:
        raise GuestFactsError(path, f"registry value {name}: {err}") from err
    return None


def _text(value: str | int | None) -> str:
    return value if isinstance(value, str) else ""


def _software_facts(view: GuestView, path: str) -> OsFacts:
    """Product, version and edition from SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion."""
    key = _key(_open_hive(view, path), CURRENT_VERSION, path)
    if key is None:
        raise GuestFactsError(path, f"no {CURRENT_VERSION} key")
    major = _value(key, "CurrentMajorVersionNumber", path)
    minor = _value(key, "CurrentMinorVersionNumber", path)
    if isinstance(major, int) and isinstance(minor, int):
        base = f"{major}.{minor}"
    else:
        base = _text(_value(key, "CurrentVersion", path))
    build = _text(_value(key, "CurrentBuildNumber", path)) or _text(
        _value(key, "CurrentBuild", path)
    )
    version = f"{base}.{build}" if base and build else base or build
    release = _text(_value(key, "DisplayVersion", path)) or _text(_value(key, "ReleaseId", path))
    return OsFacts(
        family="windows",
        distro="windows",
        version=version,
        pretty_name=_text(_value(key, "ProductName", path)),
        codename=release,
        edition=_text(_value(key, "EditionID", path)),
    )


def _system_facts(view: GuestView, path: str) -> tuple[str, str]:
    """(host name, architecture) from the current control set of the SYSTEM hive."""
    hive = _open_hive(view, path)
    current = _value(_key(hive, "Select", path), "Current", path)
    if not isinstance(current, int) or not 0 < current <= MAX_CONTROL_SET:
        raise GuestFactsError(path, "no valid Select\\Current control set number")
    control = f"ControlSet{current:03d}\\Control"
    name_key = _key(hive, f"{control}\\ComputerName\\ComputerName", path)
    env_key = _key(hive, f"{control}\\Session Manager\\Environment", path)
    hostname = _text(_value(name_key, "ComputerName", path))
    machine = _text(_value(env_key, "PROCESSOR_ARCHITECTURE", path)).casefold()
    return hostname, _ARCHITECTURES.get(machine, machine)


def is_windows(view: GuestView) -> bool:
    """Whether the guest has a Windows SOFTWARE hive (the detection used by inspect)."""
    try:
        return find_hive(view, "SOFTWARE") is not None
    except GuestFactsError:
        return False


def read_windows_os(view: GuestView) -> Gathered[OsFacts]:
    """OS facts of a Windows guest; hives that cannot be read become problems."""
    problems: list[FactProblem] = []
    facts = OsFacts(family="windows", distro="windows")
    try:
        software = find_hive(view, "SOFTWARE")
        if software is not None:
            facts = _software_facts(view, software)
    except GuestFactsError as err:
        problems.append(FactProblem(err.path, err.reason))
    try:
        system = find_hive(view, "SYSTEM")
        if system is not None:
            hostname, arch = _system_facts(view, system)
            facts = replace(facts, hostname=hostname, arch=arch)
    except GuestFactsError as err:
        problems.append(FactProblem(err.path, err.reason))
    return Gathered(facts, tuple(problems))
