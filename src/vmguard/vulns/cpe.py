"""CPE 2.3 names (NIST IR 7695) for Windows programs, which have no package ecosystem.

``cpe:2.3:a:<vendor>:<product>:<version>:*:*:*:*:*:*:*``, each component lower-cased, spaces
as underscores and every other special character backslash-quoted as the specification's
formatted-string binding requires, so a hostile DisplayName cannot add components.
"""

from __future__ import annotations

import re

from vmguard.guest.facts import InstalledPackage

_SPECIAL = re.compile(r"([^A-Za-z0-9_.\-])")


def _component(text: str) -> str:
    text = "_".join(text.lower().split())
    return _SPECIAL.sub(r"\\\1", text) or "*"


def package_cpe(package: InstalledPackage) -> str | None:
    """The CPE of a Windows program (vendor from its publisher), None for other packages."""
    if package.manager != "windows":
        return None
    vendor = _component(package.vendor.split(",")[0]) if package.vendor else "*"
    version = _component(package.version) if package.version else "*"
    return f"cpe:2.3:a:{vendor}:{_component(package.name)}:{version}:*:*:*:*:*:*:*"
