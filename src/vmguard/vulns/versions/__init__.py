"""Version ordering per package ecosystem, each as a sort key: dpkg, rpm and apk for
distribution packages; PEP 440, SemVer (npm, crates.io), Go, Maven, RubyGems, Composer and
NuGet for application packages.

``scheme_key(scheme)`` gives the key function for a scheme; keys of one scheme compare
with ``<``, ``==`` and ``>`` exactly as that ecosystem's package manager orders versions.
The distribution schemes order any string; the application schemes raise
``UnorderableVersion`` for a string outside their grammar (the matcher then reports the
package as not compared instead of guessing). Nothing here ever compares versions of two
different schemes.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, assert_never

from vmguard.vulns.versions.apk import apk_key, compare_apk
from vmguard.vulns.versions.composer import composer_key
from vmguard.vulns.versions.dpkg import compare_dpkg, dpkg_key
from vmguard.vulns.versions.errors import UnorderableVersion
from vmguard.vulns.versions.maven import maven_key
from vmguard.vulns.versions.nuget import nuget_key
from vmguard.vulns.versions.pep440 import pep440_key
from vmguard.vulns.versions.rpm import compare_rpm, rpm_key
from vmguard.vulns.versions.rubygems import rubygems_key
from vmguard.vulns.versions.semver import go_key, semver_key


class VersionScheme(StrEnum):
    """How an ecosystem orders versions."""

    DPKG = "dpkg"
    RPM = "rpm"
    APK = "apk"
    PEP440 = "pep440"
    SEMVER = "semver"
    GO = "go"
    MAVEN = "maven"
    RUBYGEMS = "rubygems"
    COMPOSER = "composer"
    NUGET = "nuget"


def scheme_key(scheme: VersionScheme) -> Callable[[str], Any]:
    """The sort-key function of a scheme (cached per version string)."""
    match scheme:
        case VersionScheme.DPKG:
            return dpkg_key
        case VersionScheme.RPM:
            return rpm_key
        case VersionScheme.APK:
            return apk_key  # type: ignore[no-any-return]
        case VersionScheme.PEP440:
            return pep440_key
        case VersionScheme.SEMVER:
            return semver_key
        case VersionScheme.GO:
            return go_key
        case VersionScheme.MAVEN:
            return maven_key
        case VersionScheme.RUBYGEMS:
            return rubygems_key
        case VersionScheme.COMPOSER:
            return composer_key
        case VersionScheme.NUGET:
            return nuget_key
        case _:
            assert_never(scheme)


def compare_versions(scheme: VersionScheme, a: str, b: str) -> int:
    """-1, 0 or 1 as the scheme's package manager orders ``a`` and ``b``.

    Raises ``UnorderableVersion`` for a string an application scheme cannot order.
    """
    match scheme:
        case VersionScheme.DPKG:
            return compare_dpkg(a, b)
        case VersionScheme.RPM:
            return compare_rpm(a, b)
        case VersionScheme.APK:
            return compare_apk(a, b)
        case _:
            key = scheme_key(scheme)
            ka, kb = key(a), key(b)
            return int(ka > kb) - int(ka < kb)


__all__ = ["UnorderableVersion", "VersionScheme", "compare_versions", "scheme_key"]
