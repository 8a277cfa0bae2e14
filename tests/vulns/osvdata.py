"""OSV records and archives for tests, shaped as OSV publishes them (osv-schema 1.6).

``debian_record`` follows Debian's DSA/DEBIAN-CVE records (source package names, an
ECOSYSTEM range ``introduced: 0`` / ``fixed``, ``ecosystem_specific.urgency``),
``alpine_record`` Alpine's (origin names, ``Alpine:v3.20``), ``rocky_record`` Rocky
Linux's RLSA records (binary rpm names, epoch-qualified fixed EVRs, CVSS v3 vectors), and
``write_all_zip`` lays records out as an ecosystem's all.zip: one ``<id>.json`` member per
record at the archive root.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

SCHEMA_VERSION = "1.6.0"


def _ranges(fixed: str | None, introduced: str = "0") -> list[dict[str, Any]]:
    events: list[dict[str, str]] = [{"introduced": introduced}]
    if fixed is not None:
        events.append({"fixed": fixed})
    return [{"type": "ECOSYSTEM", "events": events}]


def debian_record(
    ident: str,
    package: str,
    fixed: str | None,
    *,
    release: str = "12",
    aliases: tuple[str, ...] = (),
    urgency: str | None = None,
    modified: str = "2024-05-01T10:00:00Z",
    introduced: str = "0",
) -> dict[str, Any]:
    """A Debian record for a source package."""
    affected: dict[str, Any] = {
        "package": {
            "ecosystem": f"Debian:{release}",
            "name": package,
            "purl": f"pkg:deb/debian/{package}?arch=source",
        },
        "ranges": _ranges(fixed, introduced),
    }
    if urgency is not None:
        affected["ecosystem_specific"] = {"urgency": urgency}
    return {
        "schema_version": SCHEMA_VERSION,
        "id": ident,
        "modified": modified,
        "published": "2024-01-15T00:00:00Z",
        "aliases": list(aliases),
        "summary": f"{package} - security update",
        "details": "\nSeveral vulnerabilities were discovered.\n",
        "affected": [affected],
        "references": [
            {"type": "ADVISORY", "url": f"https://security-tracker.debian.org/tracker/{ident}"}
        ],
    }


def ubuntu_record(ident: str, package: str, fixed: str, release: str = "22.04") -> dict[str, Any]:
    """An Ubuntu record (``Ubuntu:22.04:LTS``, priority as severity type ``Ubuntu``)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "id": ident,
        "modified": "2024-05-01T10:00:00Z",
        "upstream": [ident.removeprefix("UBUNTU-")],
        "severity": [{"type": "Ubuntu", "score": "high"}],
        "affected": [
            {
                "package": {"ecosystem": f"Ubuntu:{release}:LTS", "name": package},
                "ranges": _ranges(fixed),
            }
        ],
    }


def alpine_record(ident: str, package: str, fixed: str, release: str = "3.20") -> dict[str, Any]:
    """An Alpine record for an origin package."""
    return {
        "schema_version": SCHEMA_VERSION,
        "id": ident,
        "modified": "2024-05-01T10:00:00Z",
        "published": "2024-05-01T10:00:00Z",
        "aliases": [],
        "details": f"{package} vulnerability",
        "affected": [
            {
                "package": {"ecosystem": f"Alpine:v{release}", "name": package},
                "ranges": _ranges(fixed),
            }
        ],
    }


def rocky_record(
    ident: str, packages: dict[str, str], cvss: str, aliases: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A Rocky Linux 9 record: binary package names with fixed EVRs, one CVSS v3 vector."""
    return {
        "schema_version": SCHEMA_VERSION,
        "id": ident,
        "modified": "2024-05-01T10:00:00Z",
        "published": "2024-04-20T00:00:00Z",
        "aliases": list(aliases),
        "related": [],
        "summary": "Important: openssl security update",
        "severity": [{"type": "CVSS_V3", "score": cvss}],
        "affected": [
            {
                "package": {"ecosystem": "Rocky Linux:9", "name": name},
                "ranges": _ranges(fixed),
                "database_specific": {"yum_repository": "BaseOS"},
            }
            for name, fixed in packages.items()
        ],
    }


def write_all_zip(path: Path, records: list[dict[str, Any]]) -> Path:
    """An all.zip: one ``<id>.json`` member per record, deflated, at the archive root."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for record in records:
            archive.writestr(f"{record['id']}.json", json.dumps(record, indent=2))
    return path
