"""SBOMs validated by their own ecosystems' tools: cyclonedx-python-lib's JSON schema
validator for CycloneDX 1.6 and spdx-tools' parser and validator for SPDX 2.3."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from vmguard.guest.dpkg import parse_status
from vmguard.guest.facts import InstalledPackage, OsFacts
from vmguard.inventory import Inventory
from vmguard.vulns import find_vulnerabilities, import_advisories, open_index
from vmguard.vulns.purl import package_purl
from vmguard.vulns.sbom_cyclonedx import write_cyclonedx
from vmguard.vulns.sbom_spdx import write_spdx

from .osvdata import debian_record, write_all_zip

DEBIAN = OsFacts(
    family="linux",
    distro="debian",
    version="12.7",
    arch="x86_64",
    pretty_name="Debian GNU/Linux 12 (bookworm)",
)


def _inventory() -> Inventory:
    data = resources.files("vmguard.data").joinpath("sample-dpkg-status").read_bytes()
    packages, _ = parse_status(data, "/var/lib/dpkg/status")
    return Inventory("raw", "raw", 0, (), (), (), DEBIAN, (), tuple(packages))


def test_purls() -> None:
    deb = InstalledPackage(
        name="libssl3",
        version="3.0.15-1~deb12u1",
        arch="amd64",
        manager="dpkg",
        source_name="openssl",
    )
    assert package_purl(deb, DEBIAN) == (
        "pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl"
    )
    rpm = InstalledPackage(
        name="openssl-libs", version="1:3.0.7-27.el9", arch="x86_64", manager="rpm"
    )
    rocky = OsFacts(distro="rocky", version="9.4")
    assert package_purl(rpm, rocky) == (
        "pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rocky-9.4&epoch=1"
    )
    apk = InstalledPackage(name="musl", version="1.2.5-r0", arch="x86_64", manager="apk")
    assert package_purl(apk, OsFacts(distro="alpine", version="3.20.3")) == (
        "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3"
    )
    hostile = InstalledPackage(name="a/b?c#d", version="1:2@3/4", arch="x&y=z", manager="dpkg")
    url = package_purl(hostile, DEBIAN)
    assert url.startswith("pkg:deb/debian/a%2Fb%3Fc%23d@1:2%403%2F4?"), url
    assert "arch=x%26y%3Dz" in url
    parsed = PackageURL.from_string(url)
    assert (parsed.namespace, parsed.name, parsed.version) == ("debian", "a/b?c#d", "1:2@3/4")


def test_cyclonedx_validates_with_vulnerabilities(tmp_path: Path) -> None:
    inventory = _inventory()
    archive = write_all_zip(
        tmp_path / "all.zip",
        [debian_record("DSA-9001-1", "glibc", "2.36-9+deb12u99", aliases=("CVE-2024-0001",))],
    )
    with open_index(tmp_path / "v.sqlite", writable=True) as index:
        import_advisories(index, [archive])
        scan = find_vulnerabilities(inventory, index)
    text = write_cyclonedx(inventory, "debian.qcow2", scan)
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert errors is None, errors
    bom = json.loads(text)
    assert bom["specVersion"] == "1.6"
    purls = {c["purl"] for c in bom["components"]}
    assert len(purls) == len(inventory.packages)
    assert any(
        p.startswith("pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12")
        for p in purls
    )
    [vuln] = bom["vulnerabilities"]
    assert vuln["id"] == "DSA-9001-1"
    assert vuln["references"][0]["id"] == "CVE-2024-0001"
    affected = {a["ref"] for a in vuln["affects"]}
    assert {r for r in affected if "/libc6@" in r or "/libc-bin@" in r} == affected
    assert len(affected) == 2
    assert vuln["recommendation"] == "Upgrade to 2.36-9+deb12u99 or later."
    # Without --vulns there is no vulnerability section, and the document still validates.
    plain = write_cyclonedx(inventory, "debian.qcow2")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(plain) is None
    assert "vulnerabilities" not in json.loads(plain)


def test_spdx_parses_and_validates(tmp_path: Path) -> None:
    inventory = _inventory()
    path = tmp_path / "sbom.spdx.json"
    path.write_text(write_spdx(inventory, "debian 12.qcow2"))
    document = parse_file(str(path))
    messages = validate_full_spdx_document(document)
    assert messages == [], [m.validation_message for m in messages]
    assert len(document.packages) == len(inventory.packages) + 1
    purls = [r.locator for p in document.packages for r in p.external_references]
    assert any(p.startswith("pkg:deb/debian/bash@5.2.15") for p in purls)
    assert (
        "pkg:deb/debian/bsdutils@1:2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12&upstream=util-linux"
        in purls
    )
