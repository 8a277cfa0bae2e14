"""SPDX 2.3 JSON for an image's packages.

One package for the operating system (purpose OPERATING-SYSTEM), described by the
document, which CONTAINS one package per installed package, each with its purl as a
PACKAGE-MANAGER external reference. Licenses and download locations are NOASSERTION: an
image's package database does not say them reliably. The document namespace is derived
from the image name and the package list, so the same image gives the same namespace.
Never includes anything not in the inventory.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from vmguard import __version__
from vmguard.inventory import Inventory
from vmguard.vulns.purl import package_purl

NOASSERTION = "NOASSERTION"
_SPDX_ID_UNSAFE = re.compile(r"[^A-Za-z0-9.-]")


def _spdx_id(index: int, name: str) -> str:
    return f"SPDXRef-Package-{index}-{_SPDX_ID_UNSAFE.sub('-', name)[:60]}"


def build_spdx(inventory: Inventory, name: str, created: datetime | None = None) -> dict[str, Any]:
    """The SPDX 2.3 document of an inventory, as a JSON-ready dict."""
    os = inventory.os
    stamp = (created or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fingerprint = hashlib.sha256(
        "\n".join(
            f"{p.manager} {p.name} {p.arch} {p.version} {p.path}" for p in inventory.packages
        ).encode()
    ).hexdigest()[:32]
    safe_name = _SPDX_ID_UNSAFE.sub("-", name)[:100] or "image"
    os_package: dict[str, Any] = {
        "SPDXID": "SPDXRef-OperatingSystem",
        "name": os.distro if os else "unknown",
        "versionInfo": os.version if os and os.version else NOASSERTION,
        "downloadLocation": NOASSERTION,
        "filesAnalyzed": False,
        "primaryPackagePurpose": "OPERATING-SYSTEM",
    }
    if os and os.pretty_name:
        os_package["description"] = os.pretty_name
    packages = [os_package]
    relationships = [
        {
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": "SPDXRef-OperatingSystem",
        }
    ]
    for index, package in enumerate(inventory.packages, start=1):
        spdx_id = _spdx_id(index, package.name)
        entry: dict[str, Any] = {
            "SPDXID": spdx_id,
            "name": package.name,
            "versionInfo": package.version,
            "downloadLocation": NOASSERTION,
            "filesAnalyzed": False,
            "licenseConcluded": NOASSERTION,
            "licenseDeclared": NOASSERTION,
            "copyrightText": NOASSERTION,
            "primaryPackagePurpose": "LIBRARY",
            "externalRefs": [
                {
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": package_purl(package, os),
                }
            ],
        }
        if package.source_name:
            entry["sourceInfo"] = f"built from source package {package.source_name}"
        elif package.path:
            entry["sourceInfo"] = f"found in {package.path}"
        packages.append(entry)
        relationships.append(
            {
                "spdxElementId": "SPDXRef-OperatingSystem",
                "relationshipType": "CONTAINS",
                "relatedSpdxElement": spdx_id,
            }
        )
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"vmguard SBOM of {name}",
        "documentNamespace": f"https://spdx.org/spdxdocs/vmguard-{safe_name}-{fingerprint}",
        "creationInfo": {"created": stamp, "creators": [f"Tool: vmguard-{__version__}"]},
        "packages": packages,
        "relationships": relationships,
    }


def write_spdx(inventory: Inventory, name: str) -> str:
    """SPDX 2.3 JSON text."""
    return json.dumps(build_spdx(inventory, name), indent=2, ensure_ascii=True) + "\n"
