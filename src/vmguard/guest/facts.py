"""Facts about a guest operating system: the inventory types of the guest layer.

These are the types the rest of vmguard (checks, vulnerability matching, reports) trusts.
Everything in them came from hostile guest files, so every string was decoded with bad
bytes replaced and stripped of control characters before it got here (``guest_text``).
Nothing in this module reads a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from vmguard.problems import Problem
from vmguard.text import kept_text

PasswordState = Literal["hash", "empty", "locked", "none"]
"""How an account can be logged into with a password (the JSON ``password`` field)."""

PackageManager = Literal[
    "dpkg",
    "rpm",
    "apk",
    "windows",
    "pypi",
    "npm",
    "maven",
    "golang",
    "cargo",
    "gem",
    "composer",
    "nuget",
]
"""The package database (or, for application packages, the ecosystem) a package came from;
``windows`` for programs from the registry's Uninstall keys."""


MAX_FIELD_CHARS = 4096
"""Longest string kept from a guest file field; longer values are cut."""


def guest_text(raw: bytes | str, *, max_chars: int = MAX_FIELD_CHARS) -> str:
    """A guest string made safe to keep and print: decoded, control characters removed.

    Invalid UTF-8 becomes U+FFFD; control characters (ESC, BEL, newlines...), bidirectional
    and zero-width formatting characters, and everything else ``vmguard.text.printable``
    would escape are dropped (``vmguard.text.kept_text``), so that a terminal, a log line
    or a report cannot be driven or disguised by guest data.
    """
    return kept_text(raw, max_chars)


@dataclass(frozen=True, slots=True, kw_only=True)
class OsFacts:
    """The operating system of a guest."""

    family: str = "unknown"
    """``linux``, ``windows`` or ``unknown``."""
    distro: str = "unknown"
    """Distribution id: ``debian``, ``ubuntu``, ``rhel``, ``alpine``, ``windows``..."""
    version: str = ""
    """Distribution version (``12.15``, ``9.4``, ``3.20.3``, ``10.0.19045``), or empty."""
    hostname: str = ""
    """Configured host name, or empty."""
    arch: str = ""
    """Machine architecture in ``uname -m`` spelling (``x86_64``, ``aarch64``), or empty."""
    pretty_name: str = ""
    """Human-readable name (os-release PRETTY_NAME, Windows ProductName)."""
    id_like: tuple[str, ...] = ()
    """Related distribution ids (os-release ID_LIKE)."""
    codename: str = ""
    """Release code name (``bookworm``) or Windows display version (``22H2``)."""
    edition: str = ""
    """Windows EditionID (``Professional``, ``ServerStandard``), or os-release VARIANT_ID."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UserAccount:
    """One local account from /etc/passwd, with its password state from /etc/shadow."""

    name: str
    uid: int
    gid: int
    home: str
    shell: str
    password: PasswordState
    """``hash`` (a crypt hash can be tried), ``empty`` (no password needed), ``locked``
    (``!``/``*`` prefix) or ``none`` (no entry that says)."""
    password_hash: str | None = field(default=None, repr=False)
    """The raw password field (shadow, else passwd), for weak-hash checks; never printed
    and never part of the JSON inventory."""
    disabled: bool | None = None
    """Windows: the account is disabled (SAM control bits); None for Linux accounts."""
    admin: bool | None = None
    """Windows: member of the built-in Administrators group; None for Linux accounts."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InstalledPackage:
    """One installed package, as its package database records it."""

    name: str
    version: str
    """Full version as the manager compares it: ``[epoch:]upstream-revision``."""
    arch: str
    manager: PackageManager
    source_name: str = ""
    """Source package (dpkg ``Source:``, rpm SOURCERPM name, apk origin); empty if none."""
    source_version: str = ""
    """Source package version when it differs from ``version`` (dpkg ``Source: n (v)``)."""
    vendor: str = ""
    """Publisher of a Windows program (its Uninstall key's Publisher); empty elsewhere."""
    path: str = ""
    """Application packages: the guest file the package was found in (``a.war!/lib/b.jar``
    inside archives); empty for packages of the OS package database."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceInfo:
    """One Windows service (SYSTEM\\<current control set>\\Services)."""

    name: str
    start: str
    """``boot``, ``system``, ``automatic``, ``manual``, ``disabled`` or the raw number."""
    display_name: str = ""
    image: str = ""
    """ImagePath as stored (unexpanded)."""
    account: str = ""
    """ObjectName: the account the service runs as."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GuestFacts:
    """Everything vmguard knows about a guest's OS, accounts and software."""

    os: OsFacts
    users: tuple[UserAccount, ...] = ()
    """Accounts in /etc/passwd order."""
    packages: tuple[InstalledPackage, ...] = ()
    """Sorted by (manager, name, arch, version)."""
    services: tuple[ServiceInfo, ...] = ()
    """Windows services, by name; empty for other guests."""
    problems: tuple[Problem, ...] = ()
    """Files that could not be read or parsed; each left a gap in the facts above."""


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Gathered(Generic[T]):
    """A gatherer's result together with what it could not read."""

    value: T
    problems: tuple[Problem, ...] = ()
