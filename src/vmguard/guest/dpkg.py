"""Installed Debian packages from dpkg's database (/var/lib/dpkg/status, status.d/).

The status file is read whole under a cap (libguestfs caps it at 50 MB; so do we, in
``DPKG_STATUS_MAX``) and parsed as deb822 paragraphs. Distroless images have no status
file but one paragraph file per package in /var/lib/dpkg/status.d/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from vmguard.errors import VmguardError
from vmguard.guest.errors import GuestFactsError, read_guest_file
from vmguard.guest.facts import Gathered, InstalledPackage, guest_text
from vmguard.guest.view import GuestView
from vmguard.problems import Problem, Stage

DPKG_STATUS_MAX = 64 * 1024 * 1024
"""Cap on /var/lib/dpkg/status."""

STATUS_D_FILE_MAX = 2 * 1024 * 1024
"""Cap on one file of /var/lib/dpkg/status.d/."""

MAX_STATUS_D_FILES = 20_000
"""Files of status.d/ read at most."""

STATUS = "/var/lib/dpkg/status"
STATUS_D = "/var/lib/dpkg/status.d"

_WANTED_FIELDS = {"package", "status", "version", "architecture", "source"}
_INSTALLED_STATES = {"installed", "triggers-pending", "triggers-awaited"}
"""dpkg states of a configured package (``dpkg -l`` shows all three as ``i``)."""
_PARTIAL_STATES = {"half-installed", "unpacked", "half-configured"}
"""States whose files are (partly) on disk but which dpkg does not call installed."""
_SOURCE = re.compile(r"^(\S+)(?:\s+\(([^)]*)\))?")


def paragraphs(data: bytes) -> Iterator[dict[str, str]]:
    """Fields of each deb822 paragraph (only those vmguard uses), names lowercased."""
    fields: dict[str, str] = {}
    for raw in data.split(b"\n"):
        if not raw.strip():
            if fields:
                yield fields
                fields = {}
            continue
        if raw[:1] in (b" ", b"\t") or b":" not in raw:
            continue  # continuation of a multi-line field such as Description
        name, _, value = raw.partition(b":")
        key = name.decode("ascii", "replace").strip().lower()
        if key in _WANTED_FIELDS:
            fields[key] = guest_text(value)
    if fields:
        yield fields


def _package(fields: dict[str, str]) -> InstalledPackage:
    """An InstalledPackage from a paragraph that has Package and Version."""
    version = fields["version"]
    source_name, source_version = "", ""
    match = _SOURCE.match(fields.get("source", ""))
    if match:
        source_name = match.group(1)
        source_version = (match.group(2) or "").strip()
    return InstalledPackage(
        name=fields["package"],
        version=version,
        arch=fields.get("architecture", ""),
        manager="dpkg",
        source_name=source_name,
        source_version=source_version,
    )


def parse_status(
    data: bytes, path: str, *, status_required: bool = True
) -> tuple[list[InstalledPackage], list[Problem]]:
    """Installed packages of a dpkg status file.

    A package counts when its Status is ``<want> ok installed`` (or triggers-pending /
    triggers-awaited, which dpkg also lists as installed). Half-installed, unpacked and
    half-configured packages, and ``reinstreq`` ones, are reported as problems: their
    files may be on disk but their version is not trustworthy. With ``status_required``
    False (distroless status.d files carry no Status), a missing Status means installed.
    """
    packages: list[InstalledPackage] = []
    problems: list[Problem] = []
    unfinished: list[str] = []
    for fields in paragraphs(data):
        name = fields.get("package", "")
        if not name or "version" not in fields:
            if name:
                problems.append(Problem(Stage.FACTS, path, f"package {name} has no Version"))
            continue
        status = fields.get("status")
        if status is None and not status_required:
            packages.append(_package(fields))
            continue
        words = (status or "").split()
        state = words[2] if len(words) == 3 else ""
        if state in _INSTALLED_STATES and words[1] == "ok":
            packages.append(_package(fields))
        elif state in _INSTALLED_STATES or state in _PARTIAL_STATES:
            unfinished.append(f"{name} ({' '.join(words[1:])})")
    if unfinished:
        # One problem for the lot: an interrupted upgrade leaves hundreds of these.
        shown = ", ".join(unfinished[:10]) + (", ..." if len(unfinished) > 10 else "")
        problems.append(
            Problem(
                Stage.FACTS,
                path,
                f"{len(unfinished)} packages not fully installed, not listed: {shown}",
            )
        )
    return packages, problems


def _status_d_files(view: GuestView) -> list[str]:
    """Names of the paragraph files in status.d/ (md5sums lists skipped), bounded."""
    try:
        names = view.list_dir(STATUS_D)
    except VmguardError as err:
        raise GuestFactsError(STATUS_D, err.diagnostics()) from err
    if not names:
        return []
    names = sorted(n for n in names if not n.endswith(".md5sums") and not n.startswith("."))
    return names[:MAX_STATUS_D_FILES]


def read_dpkg_packages(view: GuestView) -> Gathered[tuple[InstalledPackage, ...]]:
    """Installed dpkg packages from status and status.d/; failures become problems."""
    packages: list[InstalledPackage] = []
    problems: list[Problem] = []
    try:
        data = read_guest_file(view, STATUS, DPKG_STATUS_MAX)
    except GuestFactsError as err:
        problems.append(err.problem())
        data = None
    if data is not None:
        found, bad = parse_status(data, STATUS)
        packages += found
        problems += bad
    try:
        names = _status_d_files(view)
    except GuestFactsError as err:
        problems.append(err.problem())
        names = []
    for name in names:
        path = f"{STATUS_D}/{name}"
        try:
            data = read_guest_file(view, path, STATUS_D_FILE_MAX)
        except GuestFactsError as err:
            problems.append(Problem(Stage.FACTS, path, err.reason))
            continue
        if data is not None:
            found, bad = parse_status(data, path, status_required=False)
            packages += found
            problems += bad
    return Gathered(tuple(packages), tuple(problems))
