"""Installed Alpine packages from apk's database, /lib/apk/db/installed.

The database is apk's text format: one block per package, blocks separated by an empty
line, each line ``<letter>:<value>``. Only P (name), V (version), A (arch) and o (origin,
the source package) are used. Read whole under ``APK_INSTALLED_MAX``.
"""

from __future__ import annotations

from vmguard.guest.errors import GuestFactsError, read_guest_file
from vmguard.guest.facts import Gathered, InstalledPackage, guest_text
from vmguard.guest.view import GuestView
from vmguard.problems import Problem, Stage

APK_INSTALLED_MAX = 64 * 1024 * 1024
"""Cap on /lib/apk/db/installed (libguestfs uses 50 MB)."""

INSTALLED = "/lib/apk/db/installed"
_WANTED = {b"P", b"V", b"A", b"o"}


def _package(fields: dict[bytes, str]) -> InstalledPackage:
    return InstalledPackage(
        name=fields[b"P"],
        version=fields[b"V"],
        arch=fields.get(b"A", ""),
        manager="apk",
        source_name=fields.get(b"o", ""),
    )


def parse_installed(
    data: bytes, path: str = INSTALLED
) -> tuple[list[InstalledPackage], list[Problem]]:
    """Packages of an apk installed database; blocks without P or V are problems."""
    packages: list[InstalledPackage] = []
    problems: list[Problem] = []
    fields: dict[bytes, str] = {}
    for raw in [*data.split(b"\n"), b""]:
        line = raw.rstrip(b"\r")
        if line:
            key, sep, value = line.partition(b":")
            if sep and key in _WANTED and key not in fields:
                fields[key] = guest_text(value)
            continue
        if not fields:
            continue
        if b"P" in fields and b"V" in fields:
            packages.append(_package(fields))
        else:
            problems.append(Problem(Stage.FACTS, path, "package entry without P: or V:"))
        fields = {}
    return packages, problems


def read_apk_packages(view: GuestView) -> Gathered[tuple[InstalledPackage, ...]]:
    """Installed apk packages; an unreadable database becomes a problem."""
    try:
        data = read_guest_file(view, INSTALLED, APK_INSTALLED_MAX)
    except GuestFactsError as err:
        return Gathered((), (Problem(Stage.FACTS, INSTALLED, err.reason),))
    if data is None:
        return Gathered(())
    packages, problems = parse_installed(data)
    return Gathered(tuple(packages), tuple(problems))
