"""The application guest (real tools' output in an ext4 qcow2) through inventory, scan,
matching and both SBOM formats: every planted package found with its version and file,
every advisory hit found, no trap matched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from clirunner import vmguard
from vmguard.inspection import ImageOptions, inspect_image
from vmguard.scanning import ScanOptions, scan_image
from vmguard.vulns import import_advisories, open_index
from vmguard.vulns.ecosystems import APP_ECOSYSTEMS
from vmguard.vulns.matching import find_vulnerabilities

from .advisories import advisory_set
from .appguest import AppGuest, app_guest

Key = tuple[str, str, str, str]


@pytest.fixture(scope="module")
def guest() -> AppGuest:
    return app_guest()


def _app_keys(packages: list[dict[str, str]]) -> set[Key]:
    return {
        (p["manager"], p["name"], p["version"], p["path"])
        for p in packages
        if p["manager"] in APP_ECOSYSTEMS
    }


def _expected(guest: AppGuest) -> set[Key]:
    return _app_keys(guest.expected)


@pytest.mark.parametrize("manager", sorted(APP_ECOSYSTEMS))
def test_each_ecosystem_was_planted(guest: AppGuest, manager: str) -> None:
    if manager in guest.skipped:
        pytest.skip(f"{manager} not planted: {guest.skipped[manager]}")
    assert any(p["manager"] == manager for p in guest.expected)


def test_inventory_lists_every_planted_package_and_nothing_else(guest: AppGuest) -> None:
    report = inspect_image(guest.image, ImageOptions(), applications=True)
    assert report.inventory is not None
    found = _app_keys(report.inventory.to_json()["packages"])
    assert found == _expected(guest)
    assert not [e for e in report.errors if "/opt" in e.where or "/srv" in e.where]


def test_scan_walk_lists_the_same_packages(guest: AppGuest) -> None:
    report = scan_image(guest.image, ScanOptions(workers=1))
    assert report.inventory is not None
    assert _app_keys(report.inventory.to_json()["packages"]) == _expected(guest)
    off = scan_image(guest.image, ScanOptions(workers=1, applications=False))
    assert off.inventory is not None
    assert not _app_keys(off.inventory.to_json()["packages"])


def _stdlib(guest: AppGuest) -> str:
    """The planted Go toolchain's version (any version when Go was not planted)."""
    return next((p["version"] for p in guest.expected if p["name"] == "stdlib"), "1.19.8")


def _index(tmp_path: Path, guest: AppGuest) -> Path:
    records, _ = advisory_set(_stdlib(guest))
    source = tmp_path / "advisories.json"
    source.write_text(json.dumps(records))
    db = tmp_path / "vulns.sqlite"
    with open_index(db, writable=True) as index:
        summary = import_advisories(index, [source])
    assert summary.total("added") == len(records)
    return db


def test_matches_every_hit_and_no_trap(guest: AppGuest, tmp_path: Path) -> None:
    db = _index(tmp_path, guest)
    report = inspect_image(guest.image, ImageOptions(), applications=True)
    assert report.inventory is not None
    with open_index(db) as index:
        scan = find_vulnerabilities(report.inventory, index)
    found = {
        (m.advisory_id, p.package.manager, p.package.name, p.package.path)
        for p in scan.packages
        for m in p.matches
    }
    _, hits = advisory_set(_stdlib(guest))
    expected = {
        (ident, manager, name, p["path"])
        for ident, manager, name in hits
        for p in guest.expected
        if (p["manager"], p["name"]) == (manager, name)
    }
    assert found == expected
    assert not [m for m in scan.packages for a in m.matches if a.advisory_id.startswith("TRAP")]
    assert not scan.problems


def test_vulns_command_reports_app_packages_at_their_files(guest: AppGuest, tmp_path: Path) -> None:
    db = _index(tmp_path, guest)
    run = vmguard("vulns", guest.image, "--db", db, "--format", "json", timeout=120)
    assert run.code == 1, run.stderr  # critical findings reach --fail-on high
    findings = json.loads(run.stdout)["findings"]
    paths = {f["location"]["path"] for f in findings if f["rule_id"] == "vuln.package"}
    assert "/opt/webapp/lib/urllib3-1.24.1.dist-info/METADATA" in paths
    if "maven" not in guest.skipped:
        war = "/opt/tomcat/webapps/shop.war!/WEB-INF/lib/log4j-core-2.14.1.jar"
        assert war in paths


PURLS = {
    "pypi": "pkg:pypi/requests@2.19.1",
    "npm": "pkg:npm/%40babel/helper-validator-identifier@7.22.5",
    "maven": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
    "golang": "pkg:golang/golang.org/x/text@v0.3.7",
    "gem": "pkg:gem/bundler@2.3.7",
    "composer": "pkg:composer/symfony/http-kernel@v4.4.12",
    "nuget": "pkg:nuget/Newtonsoft.Json@12.0.1",
}


def test_sboms_validate_and_carry_app_purls(guest: AppGuest, tmp_path: Path) -> None:
    cdx = tmp_path / "bom.json"
    spdx = tmp_path / "bom.spdx.json"
    assert vmguard("sbom", guest.image, "-o", cdx, timeout=120).code == 0
    assert vmguard("sbom", guest.image, "--format", "spdx", "-o", spdx, timeout=120).code == 0
    text = cdx.read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    components = json.loads(text)["components"]
    cdx_purls = {c["purl"] for c in components}
    document = parse_file(str(spdx))
    messages = validate_full_spdx_document(document)
    assert messages == [], [m.validation_message for m in messages]
    spdx_purls = {r.locator for p in document.packages for r in p.external_references}
    for manager, purl in PURLS.items():
        if manager not in guest.skipped:
            assert purl in cdx_purls and purl in spdx_purls, purl
    app_components = [c for c in components if "evidence" in c]
    assert len(app_components) == len(_expected(guest))


def test_stale_advisories_warn_on_console_and_in_machine_formats(
    guest: AppGuest, tmp_path: Path
) -> None:
    db = _index(tmp_path, guest)
    fresh = vmguard("vulns", guest.image, "--db", db, "--format", "json", timeout=120)
    rules = [f["rule_id"] for f in json.loads(fresh.stdout)["findings"]]
    assert "vuln.advisory-age" in rules and "vuln.advisories-stale" not in rules
    assert "warning" not in fresh.stderr
    stale = vmguard(
        "vulns", guest.image, "--db", db, "--format", "sarif", "--max-db-age", "0", timeout=120
    )
    assert "vmguard: warning: advisories last imported" in stale.stderr
    assert "--max-db-age" in stale.stderr
    assert "vuln.advisories-stale" in stale.stdout
    console = vmguard("vulns", guest.image, "--db", db, "--max-db-age", "0", timeout=120)
    assert "advisories last imported" in console.stdout
    bom = tmp_path / "bom.json"
    run = vmguard(
        "sbom", guest.image, "--vulns", "--db", db, "--max-db-age", "0", "-o", bom, timeout=120
    )
    assert run.code == 0 and "vmguard: warning:" in run.stderr
    properties = {p["name"] for p in json.loads(bom.read_text())["metadata"]["properties"]}
    assert {"vmguard:advisory-age", "vmguard:advisories-stale"} <= properties
