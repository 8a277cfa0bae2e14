"""Version ordering per package ecosystem: dpkg, rpm and apk, each as a sort key.

``scheme_key(scheme)`` gives the key function for a scheme; keys of one scheme compare
with ``<``, ``==`` and ``>`` exactly as that ecosystem's package manager orders versions.
Nothing here ever compares versions of two different schemes.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, assert_never

from vmguard.vulns.versions.apk import apk_key, compare_apk
from vmguard.vulns.versions.dpkg import compare_dpkg, dpkg_key
from vmguard.vulns.versions.rpm import compare_rpm, rpm_key


class VersionScheme(StrEnum):
    """How an ecosystem orders versions."""

    DPKG = "dpkg"
    RPM = "rpm"
    APK = "apk"


def scheme_key(scheme: VersionScheme) -> Callable[[str], Any]:
    """The sort-key function of a scheme (cached per version string)."""
    match scheme:
        case VersionScheme.DPKG:
            return dpkg_key
        case VersionScheme.RPM:
            return rpm_key
        case VersionScheme.APK:
            return apk_key  # type: ignore[no-any-return]
        case _:
            assert_never(scheme)


def compare_versions(scheme: VersionScheme, a: str, b: str) -> int:
    """-1, 0 or 1 as the scheme's package manager orders ``a`` and ``b``."""
    match scheme:
        case VersionScheme.DPKG:
            return compare_dpkg(a, b)
        case VersionScheme.RPM:
            return compare_rpm(a, b)
        case VersionScheme.APK:
            return compare_apk(a, b)
        case _:
            assert_never(scheme)


__all__ = ["VersionScheme", "compare_versions", "scheme_key"]
