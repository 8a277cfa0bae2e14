"""OSV ecosystem names, and which ecosystem release a guest's OS facts belong to.

OSV names an ecosystem and its release in one string: ``Debian:12``, ``Ubuntu:22.04:LTS``,
``Alpine:v3.20``, ``Rocky Linux:9``, ``AlmaLinux:9``, ``Red Hat:enterprise_linux:9::appstream``.
This module reduces both sides to a ``Release`` (distribution and release) so that a guest
is matched only against its own release's advisories, and says per distribution how
versions are ordered and whether advisories name source or binary packages. It never
guesses: an ecosystem it does not know is kept under its own name and matches no guest.

Application ecosystems (PyPI, npm, Maven, Go, crates.io, RubyGems, Packagist, NuGet) have
no release: their advisories apply to a package wherever it is installed, and each names
packages by its own rules (``advisory_name`` folds the names an ecosystem treats as equal).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from vmguard.guest.facts import OsFacts
from vmguard.inventory import Inventory
from vmguard.vulns.versions import VersionScheme


class Naming(StrEnum):
    """Which package name an ecosystem's advisories use."""

    SOURCE = "source"
    """Debian, Ubuntu, Alpine: the source package (dpkg ``Source:``, apk origin)."""
    BINARY = "binary"
    """Red Hat family: the binary rpm's name."""


@dataclass(frozen=True, slots=True)
class Distribution:
    """How one distribution's advisories are read."""

    name: str
    """OSV's ecosystem base name (``Debian``, ``Rocky Linux``...)."""
    scheme: VersionScheme
    naming: Naming
    purl_type: str
    """Package URL type (``deb``, ``rpm``, ``apk``)."""


DISTRIBUTIONS: dict[str, Distribution] = {
    d.name: d
    for d in (
        Distribution("Debian", VersionScheme.DPKG, Naming.SOURCE, "deb"),
        Distribution("Ubuntu", VersionScheme.DPKG, Naming.SOURCE, "deb"),
        Distribution("Alpine", VersionScheme.APK, Naming.SOURCE, "apk"),
        Distribution("Rocky Linux", VersionScheme.RPM, Naming.BINARY, "rpm"),
        Distribution("AlmaLinux", VersionScheme.RPM, Naming.BINARY, "rpm"),
        Distribution("Red Hat", VersionScheme.RPM, Naming.BINARY, "rpm"),
    )
}
"""The distributions whose advisories vmguard matches, by OSV ecosystem base name."""

_OS_DISTRO = {
    "debian": "Debian",
    "ubuntu": "Ubuntu",
    "alpine": "Alpine",
    "rocky": "Rocky Linux",
    "almalinux": "AlmaLinux",
    "rhel": "Red Hat",
}
"""os-release ID to OSV ecosystem base name."""

_MAJOR = re.compile(r"^([0-9]+)")
_MAJOR_MINOR = re.compile(r"^([0-9]+\.[0-9]+)")
_RHEL_PRODUCT = re.compile(r"^enterprise_linux:([0-9]+)(?:[:.]|$)")


@dataclass(frozen=True, slots=True, order=True)
class Release:
    """One distribution release, the unit advisories are matched in."""

    distribution: str
    """OSV ecosystem base name, or the whole unknown ecosystem string."""
    release: str
    """``12``, ``22.04``, ``3.20``, ``9``; empty when the ecosystem names no release."""

    def __str__(self) -> str:
        return f"{self.distribution}:{self.release}" if self.release else self.distribution


@dataclass(frozen=True, slots=True)
class AppEcosystem:
    """How one application package ecosystem's advisories are read."""

    name: str
    """OSV's ecosystem name (``PyPI``, ``crates.io``...)."""
    manager: str
    """The inventory's ``manager`` for its packages (``pypi``, ``cargo``...)."""
    scheme: VersionScheme
    purl_type: str


APP_ECOSYSTEMS: dict[str, AppEcosystem] = {
    e.manager: e
    for e in (
        AppEcosystem("PyPI", "pypi", VersionScheme.PEP440, "pypi"),
        AppEcosystem("npm", "npm", VersionScheme.SEMVER, "npm"),
        AppEcosystem("Maven", "maven", VersionScheme.MAVEN, "maven"),
        AppEcosystem("Go", "golang", VersionScheme.GO, "golang"),
        AppEcosystem("crates.io", "cargo", VersionScheme.SEMVER, "cargo"),
        AppEcosystem("RubyGems", "gem", VersionScheme.RUBYGEMS, "gem"),
        AppEcosystem("Packagist", "composer", VersionScheme.COMPOSER, "composer"),
        AppEcosystem("NuGet", "nuget", VersionScheme.NUGET, "nuget"),
    )
}
"""Application ecosystems by inventory manager."""

_PEP503 = re.compile(r"[-_.]+")


def advisory_name(distribution: str, name: str) -> str:
    """The name the index keeps a package under: PyPI names PEP 503-normalized, NuGet and
    Packagist names lower-cased (both registries ignore case); others as they are."""
    match distribution:
        case "PyPI":
            return _PEP503.sub("-", name).lower()
        case "NuGet" | "Packagist":
            return name.lower()
        case _:
            return name


def parse_ecosystem(ecosystem: str) -> Release:
    """The release an OSV ecosystem string stands for.

    Ubuntu's ``:LTS`` and Red Hat's repository suffixes are dropped; Ubuntu Pro and Red
    Hat's extended-support streams stay separate distributions, since a plain install does
    not carry their packages. Unknown ecosystems come back whole, with no release.
    """
    base, _, rest = ecosystem.partition(":")
    match base:
        case "Debian" | "Rocky Linux" | "AlmaLinux":
            major = _MAJOR.match(rest)
            return Release(base, major.group(1) if major else rest)
        case "Alpine":
            return Release(base, rest.removeprefix("v"))
        case "Ubuntu":
            parts = [p for p in rest.split(":") if p and p != "LTS"]
            if len(parts) == 1:
                return Release(base, parts[0])
            return Release(ecosystem, "")
        case "Red Hat":
            product = _RHEL_PRODUCT.match(rest)
            if product:
                return Release(base, product.group(1))
            return Release(ecosystem, "")
        case _:
            return Release(ecosystem, "")


def release_of(os: OsFacts | None) -> Release | None:
    """The advisory release a guest belongs to, or None if vmguard has no ecosystem for it."""
    if os is None:
        return None
    base = _OS_DISTRO.get(os.distro)
    if base is None:
        return None
    pattern = _MAJOR_MINOR if base in ("Ubuntu", "Alpine") else _MAJOR
    found = pattern.match(os.version)
    if found is None:
        return None
    return Release(base, found.group(1))


def distribution(release: Release) -> Distribution | None:
    """How a release's advisories are read, or None for an unknown ecosystem."""
    return DISTRIBUTIONS.get(release.distribution)


def inventory_ecosystems(inventory: Inventory) -> list[str]:
    """The OSV ecosystems an image's advisories come from: its distribution's, then one per
    application package (in package order, repeats kept)."""
    release = release_of(inventory.os)
    names = [release.distribution] if release is not None else []
    names += [
        APP_ECOSYSTEMS[p.manager].name for p in inventory.packages if p.manager in APP_ECOSYSTEMS
    ]
    return names
