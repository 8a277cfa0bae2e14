"""``vmguard db``, ``vmguard vulns`` and ``vmguard sbom`` run as a user runs them: the real
command in a subprocess, on the debootstrapped Debian 12 disk, with OSV archives laid out
as OSV publishes them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from clirunner import vmguard
from vmguard.inspection import ImageOptions, inspect_image
from vulns.osvdata import debian_record, write_all_zip

CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vmguard: error: "), stderr
    return lines[0]


@pytest.fixture(scope="module")
def glibc(debian_disk: Path) -> tuple[str, str]:
    """(source version of glibc, binary version of libc6) as installed in the image."""
    report = inspect_image(debian_disk, ImageOptions())
    assert report.inventory is not None
    libc6 = next(p for p in report.inventory.packages if p.name == "libc6")
    assert libc6.source_name == "glibc"
    return libc6.source_version or libc6.version, libc6.version


@pytest.mark.slow
def test_import_status_and_vulns(
    debian_disk: Path, glibc: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source_version, _ = glibc
    fixed_later = debian_record(
        "DSA-9001-1", "glibc", source_version + "+1", aliases=("CVE-2024-0001",)
    )
    fixed_later["severity"] = [{"type": "CVSS_V3", "score": CRITICAL}]
    fixed_already = debian_record("DSA-9002-1", "glibc", source_version)
    archive = write_all_zip(tmp_path / "all.zip", [fixed_later, fixed_already])
    archive_digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    db = tmp_path / "vulns.sqlite"

    run = vmguard("db", "import", archive, "--db", db)
    assert run.code == 0, run.stderr
    assert "2 added" in run.stdout
    again = vmguard("db", "import", archive, "--db", f"sqlite:///{db}")
    assert again.code == 0 and "2 unchanged" in again.stdout
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == archive_digest

    status = vmguard("db", "status", "--db", db, "--format", "json")
    assert status.code == 0
    assert json.loads(status.stdout)["releases"] == {"Debian:12": 2}

    result = vmguard("vulns", debian_disk, "--db", db, "--format", "json")
    assert result.code == 1, result.stderr  # a critical finding reaches --fail-on high
    document = json.loads(result.stdout)
    findings = [f for f in document["findings"] if f["rule_id"] == "vuln.package"]
    names = {f["subject"].split(":")[0] for f in findings}
    assert "libc6" in names and names <= {"libc6", "libc-bin", "libc-l10n", "locales"}
    libc6 = next(f for f in findings if f["subject"].startswith("libc6:"))
    assert libc6["severity"] == "critical"
    assert libc6["threat"] == "vulnerable-software"
    assert "DSA-9001-1 [CVE-2024-0001] critical 10.0" in libc6["evidence"]
    assert f"fixed in {source_version}+1" in libc6["evidence"]
    assert "DSA-9002-1" not in libc6["evidence"]
    assert document["summary"]["critical"] == len(findings)

    relaxed = vmguard("vulns", debian_disk, "--fail-on", "critical", "--db", db)
    assert relaxed.code == 1 and "libc6" in relaxed.stdout

    monkeypatch.setenv("VMGUARD_DB", str(db))
    env_run = vmguard("vulns", debian_disk, "--format", "json")
    assert env_run.code == 1 and json.loads(env_run.stdout)["findings"]


@pytest.mark.slow
def test_sboms(debian_disk: Path, glibc: tuple[str, str], tmp_path: Path) -> None:
    archive = write_all_zip(
        tmp_path / "all.zip", [debian_record("DSA-9001-1", "glibc", glibc[0] + "+1")]
    )
    db = tmp_path / "vulns.sqlite"
    assert vmguard("db", "import", archive, "--db", db).code == 0
    out = tmp_path / "bom.json"
    run = vmguard("sbom", debian_disk, "--format", "cyclonedx", "--vulns", "--db", db, "-o", out)
    assert run.code == 0, run.stderr
    text = out.read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    bom = json.loads(text)
    assert any(
        c["purl"].startswith("pkg:deb/debian/libc6@") and "distro=debian-12" in c["purl"]
        for c in bom["components"]
    )
    assert [v["id"] for v in bom["vulnerabilities"]] == ["DSA-9001-1"]

    spdx = vmguard("sbom", debian_disk, "--format", "spdx")
    assert spdx.code == 0, spdx.stderr
    path = tmp_path / "sbom.spdx.json"
    path.write_text(spdx.stdout)
    assert validate_full_spdx_document(parse_file(str(path))) == []

    refused = vmguard("sbom", debian_disk, "--format", "spdx", "--vulns", "--db", db)
    assert refused.code == 2 and "cyclonedx" in _one_error_line(refused.stderr)


def test_unusable_inputs_exit_2_with_one_line(tmp_path: Path) -> None:
    missing = vmguard("vulns", tmp_path / "none.qcow2", "--db", tmp_path / "v.sqlite")
    assert missing.code == 2 and "no such image" in _one_error_line(missing.stderr)
    image = tmp_path / "disk.raw"
    image.write_bytes(bytes(1024 * 1024))
    no_db = vmguard("vulns", image, "--db", tmp_path / "v.sqlite")
    assert no_db.code == 2 and "vmguard db import" in _one_error_line(no_db.stderr)
    assert not (tmp_path / "v.sqlite").exists()
    junk_db = tmp_path / "junk.sqlite"
    junk_db.write_bytes(b"junk" * 1000)
    junk = vmguard("db", "status", "--db", junk_db)
    assert junk.code == 2 and "not a usable advisory index" in _one_error_line(junk.stderr)
    not_osv = tmp_path / "advisories.zip"
    not_osv.write_bytes(b"PK\x03\x04" + bytes(64))
    before = not_osv.read_bytes()
    bad = vmguard("db", "import", not_osv, "--db", tmp_path / "new.sqlite")
    assert bad.code == 2 and "zip" in _one_error_line(bad.stderr)
    assert not_osv.read_bytes() == before
    url = vmguard("db", "status", "--db", "postgresql://db.invalid/vulns")
    assert url.code == 2 and "only SQLite" in _one_error_line(url.stderr)
