"""Which Linux distribution a guest runs, and its host name, from small text files.

Reads /etc/os-release (else /usr/lib/os-release), then the older release files
(/etc/debian_version, /etc/redhat-release, /etc/alpine-release, /etc/lsb-release) and
/etc/hostname. Every read is bounded; every value is cleaned with ``guest_text``. Never
evaluates the shell syntax of os-release: it is parsed as data.
"""

from __future__ import annotations

import re
from dataclasses import replace

from vmguard.guest.errors import GuestFactsError, read_guest_file
from vmguard.guest.facts import Gathered, OsFacts, guest_text
from vmguard.guest.view import GuestView
from vmguard.problems import Problem, Stage

SMALL_FILE_MAX = 2 * 1024 * 1024
"""Cap on a small configuration file (libguestfs' read_small_file uses the same)."""

MAX_HOSTNAME_CHARS = 253

_ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_DOTTED_VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_RELEASE_VERSION = re.compile(r"release\s+([0-9][0-9.]*)", re.IGNORECASE)
_REDHAT_NAMES = (
    ("red hat enterprise linux", "rhel"),
    ("centos stream", "centos"),
    ("centos", "centos"),
    ("fedora", "fedora"),
    ("rocky", "rocky"),
    ("almalinux", "almalinux"),
    ("oracle linux", "ol"),
    ("scientific linux", "scientific"),
)


def _unquote(value: str) -> str:
    """The value of an os-release assignment, with shell quoting removed (no expansion)."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r'\\([$"`\\])', r"\1", value[1:-1])
    return value


def parse_os_release(data: bytes) -> dict[str, str]:
    """KEY=value pairs of an os-release (or lsb-release) file; later keys win.

    Values are unquoted and cleaned: control characters (an ESC sequence in PRETTY_NAME,
    for instance) are removed, invalid UTF-8 is replaced.
    """
    fields: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        match = _ASSIGN.match(line.strip())
        if match:
            fields[match.group(1)] = guest_text(_unquote(match.group(2)))
    return fields


def _first_line(data: bytes) -> str:
    """The first non-empty line of a file, cleaned."""
    for line in data.splitlines():
        text = guest_text(line)
        if text:
            return text
    return ""


def _redhat_release(text: str) -> tuple[str, str]:
    """(distro id, version) from a line such as ``CentOS Linux release 7.9.2009 (Core)``."""
    lowered = text.lower()
    distro = next((ident for name, ident in _REDHAT_NAMES if name in lowered), "rhel")
    match = _RELEASE_VERSION.search(text)
    return distro, match.group(1) if match else ""


class _Reader:
    """Bounded reads that turn failures into problems instead of exceptions."""

    def __init__(self, view: GuestView) -> None:
        self.view = view
        self.problems: list[Problem] = []

    def read(self, path: str) -> bytes | None:
        try:
            return read_guest_file(self.view, path, SMALL_FILE_MAX)
        except GuestFactsError as err:
            self.problems.append(Problem(Stage.FACTS, path, err.reason))
            return None


def _from_os_release(fields: dict[str, str]) -> OsFacts:
    """OsFacts from parsed os-release fields."""
    return OsFacts(
        family="linux",
        distro=fields.get("ID", "").lower() or "linux",
        version=fields.get("VERSION_ID", ""),
        pretty_name=fields.get("PRETTY_NAME", "") or fields.get("NAME", ""),
        id_like=tuple(fields.get("ID_LIKE", "").lower().split()),
        codename=fields.get("VERSION_CODENAME", ""),
        edition=fields.get("VARIANT_ID", ""),
    )


def _from_legacy_files(reader: _Reader) -> OsFacts | None:
    """OsFacts from the pre-os-release files, tried in order; None if none exists."""
    data = reader.read("/etc/redhat-release")
    if data is not None:
        line = _first_line(data)
        distro, version = _redhat_release(line)
        return OsFacts(family="linux", distro=distro, version=version, pretty_name=line)
    data = reader.read("/etc/alpine-release")
    if data is not None:
        version = _first_line(data)
        return OsFacts(family="linux", distro="alpine", version=version)
    # lsb-release before debian_version: old Ubuntu has both, and its debian_version
    # only names the Debian release it was branched from ("squeeze/sid").
    data = reader.read("/etc/lsb-release")
    if data is not None:
        fields = parse_os_release(data)
        return OsFacts(
            family="linux",
            distro=fields.get("DISTRIB_ID", "").lower() or "linux",
            version=fields.get("DISTRIB_RELEASE", ""),
            pretty_name=fields.get("DISTRIB_DESCRIPTION", ""),
            codename=fields.get("DISTRIB_CODENAME", ""),
        )
    data = reader.read("/etc/debian_version")
    if data is not None:
        return OsFacts(family="linux", distro="debian", version=_first_line(data))
    return None


def read_hostname(view: GuestView) -> Gathered[str]:
    """The host name from /etc/hostname (else /etc/HOSTNAME): first line, cleaned."""
    reader = _Reader(view)
    for path in ("/etc/hostname", "/etc/HOSTNAME"):
        data = reader.read(path)
        if data is not None:
            name = _first_line(data)[:MAX_HOSTNAME_CHARS]
            return Gathered(name, tuple(reader.problems))
    return Gathered("", tuple(reader.problems))


def read_linux_os(view: GuestView) -> Gathered[OsFacts]:
    """Distribution, version and host name of a Linux guest.

    ``family`` is ``unknown`` when no release file exists at all. For Debian the point
    release in /etc/debian_version (``12.15``) is preferred over VERSION_ID (``12``).
    """
    reader = _Reader(view)
    facts: OsFacts | None = None
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        data = reader.read(path)
        if data is not None:
            facts = _from_os_release(parse_os_release(data))
            break
    if facts is None:
        facts = _from_legacy_files(reader)
    elif facts.distro == "debian":
        data = reader.read("/etc/debian_version")
        point = _first_line(data) if data is not None else ""
        # Only a point release of the same major version: a stale debian_version left
        # by an upgrade must not contradict os-release.
        if _DOTTED_VERSION.match(point) and point.split(".")[0] == (
            facts.version.split(".")[0] or point.split(".")[0]
        ):
            facts = replace(facts, version=point)
    if facts is None:
        facts = OsFacts()
    hostname = read_hostname(view)
    return Gathered(
        replace(facts, hostname=hostname.value),
        tuple(reader.problems) + hostname.problems,
    )
