"""Matching on hand-checked advisories: affected, fixed before and after, epochs, tildes,
source-versus-binary names, per ecosystem; against a real Debian 12 dpkg status."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from vmguard.findings import Severity, Threat
from vmguard.guest.dpkg import parse_status
from vmguard.guest.facts import InstalledPackage, OsFacts
from vmguard.inventory import Inventory
from vmguard.vulns import find_vulnerabilities, import_advisories, match_inventory, open_index
from vmguard.vulns.index import AdvisoryIndex

from .osvdata import alpine_record, debian_record, rocky_record, ubuntu_record, write_all_zip


def _inventory(os: OsFacts, packages: list[InstalledPackage]) -> Inventory:
    return Inventory("raw", "raw", 0, (), (), (), os, (), tuple(packages))


def _debian_packages() -> list[InstalledPackage]:
    data = resources.files("vmguard.data").joinpath("sample-dpkg-status").read_bytes()
    packages, problems = parse_status(data, "/var/lib/dpkg/status")
    assert not problems
    return packages


DEBIAN_12 = OsFacts(family="linux", distro="debian", version="12.7", arch="x86_64")


def _index(tmp_path: Path, records: list[dict[str, object]]) -> AdvisoryIndex:
    archive = write_all_zip(tmp_path / "all.zip", records)
    db = tmp_path / "vulns.sqlite"
    with open_index(db, writable=True) as index:
        import_advisories(index, [archive])
    return open_index(db)


def _matched(tmp_path: Path, records: list[dict[str, object]], inventory: Inventory) -> dict:
    with _index(tmp_path, records) as index:
        scan = find_vulnerabilities(inventory, index)
    return {(p.package.name, m.advisory_id): m.fixed for p in scan.packages for m in p.matches}


def test_debian_source_names_epochs_and_tildes(tmp_path: Path) -> None:
    # sample-dpkg-status: libc6 2.36-9+deb12u14 (source glibc); bsdutils
    # 1:2.38.1-5+deb12u3 from source util-linux 2.38.1-5+deb12u3.
    records = [
        # glibc fixed after the installed version: affected.
        debian_record("DSA-9001-1", "glibc", "2.36-9+deb12u15", aliases=("CVE-2024-0001",)),
        # glibc fixed at exactly the installed version: not affected.
        debian_record("DSA-9002-1", "glibc", "2.36-9+deb12u14"),
        # glibc fixed before (u10 < u14, digit runs compare as numbers): not affected.
        debian_record("DSA-9003-1", "glibc", "2.36-9+deb12u10"),
        # util-linux fixed in u4: the binary's epoch 1 must not hide that the source is u3.
        debian_record("DSA-9004-1", "util-linux", "2.38.1-5+deb12u4", urgency="high"),
        # A tilde fix below the installed revision: 2.38.1-5~deb12u1 < 2.38.1-5+deb12u3.
        debian_record("DSA-9005-1", "util-linux", "2.38.1-5~deb12u1"),
        # The binary name is not what Debian advisories use: no match through "libc6".
        debian_record("DSA-9006-1", "libc6", "9:9"),
        # Another release's advisory does not apply to Debian 12.
        debian_record("DSA-9007-1", "glibc", "2.99-1", release="11"),
        # No fix yet: every version is affected.
        debian_record("DEBIAN-CVE-2024-0002", "glibc", None, urgency="unimportant"),
    ]
    matched = _matched(tmp_path, records, _inventory(DEBIAN_12, _debian_packages()))
    libc_bins = {name for name, _ in matched if name.startswith("libc")}
    assert "libc6" in libc_bins
    assert matched[("libc6", "DSA-9001-1")] == "2.36-9+deb12u15"
    assert matched[("libc6", "DEBIAN-CVE-2024-0002")] is None
    assert matched[("bsdutils", "DSA-9004-1")] == "2.38.1-5+deb12u4"
    for ident in ("DSA-9002-1", "DSA-9003-1", "DSA-9005-1", "DSA-9006-1", "DSA-9007-1"):
        assert not any(a == ident for _, a in matched), ident
    # Every binary built from util-linux in the status file is reported, and only those.
    util_linux = {p.name for p in _debian_packages() if (p.source_name or p.name) == "util-linux"}
    assert {n for n, a in matched if a == "DSA-9004-1"} == util_linux


def test_findings_grouped_per_package_with_ids_and_severity(tmp_path: Path) -> None:
    records = [
        debian_record("DSA-9001-1", "glibc", "2.36-9+deb12u15", aliases=("CVE-2024-0001",)),
        debian_record("DEBIAN-CVE-2024-0002", "glibc", None, urgency="low"),
        debian_record("DSA-9004-1", "util-linux", "2.38.1-5+deb12u4", urgency="high"),
    ]
    with _index(tmp_path, records) as index:
        findings = match_inventory(_inventory(DEBIAN_12, _debian_packages()), index)
    libc6 = [f for f in findings if f.subject == "libc6:amd64"]
    assert len(libc6) == 1
    finding = libc6[0]
    assert finding.rule_id == "vuln.package"
    assert finding.threat is Threat.VULNERABLE_SOFTWARE
    assert "DSA-9001-1 [CVE-2024-0001]" in finding.evidence
    assert "fixed in 2.36-9+deb12u15" in finding.evidence
    assert "DEBIAN-CVE-2024-0002" in finding.evidence and "no fix yet" in finding.evidence
    assert finding.severity is Severity.MEDIUM  # DSA unrated -> medium, CVE rated low
    assert finding.location.path == "/var/lib/dpkg/status"
    bsdutils = next(f for f in findings if f.subject == "bsdutils:amd64")
    assert bsdutils.severity is Severity.HIGH
    assert "source util-linux 2.38.1-5+deb12u3" in bsdutils.evidence
    assert findings[0].severity is Severity.HIGH  # worst first


def test_rocky_binary_names_epochs_and_cvss(tmp_path: Path) -> None:
    rocky = OsFacts(family="linux", distro="rocky", version="9.4", arch="x86_64")
    packages = [
        InstalledPackage(
            name="openssl-libs",
            version="1:3.0.7-24.el9",
            arch="x86_64",
            manager="rpm",
            source_name="openssl",
        ),
        InstalledPackage(name="openssl", version="1:3.0.7-28.el9_4", arch="x86_64", manager="rpm"),
        InstalledPackage(name="zlib", version="1.2.11-40.el9", arch="x86_64", manager="rpm"),
    ]
    records = [
        rocky_record(
            "RLSA-2024:2447",
            {"openssl-libs": "1:3.0.7-27.el9", "openssl": "1:3.0.7-27.el9"},
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
            aliases=("CVE-2023-5678",),
        ),
        # Fixed EVR without epoch: 3.0.8 < 1:3.0.7 because the installed epoch is 1.
        rocky_record(
            "RLSA-2024:9999",
            {"openssl-libs": "3.0.8-1.el9"},
            "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N",
        ),
        # A source-package name never matches in a binary-named ecosystem.
        rocky_record(
            "RLSA-2024:1111",
            {"zlib-src": "1.3-1.el9"},
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        ),
    ]
    with _index(tmp_path, records) as index:
        scan = find_vulnerabilities(_inventory(rocky, packages), index)
    assert [(p.package.name, [m.advisory_id for m in p.matches]) for p in scan.packages] == [
        ("openssl-libs", ["RLSA-2024:2447"])
    ]
    match = scan.packages[0].matches[0]
    assert (match.severity, match.score, match.fixed) == (Severity.HIGH, 7.5, "1:3.0.7-27.el9")
    assert match.cve_ids == ("CVE-2023-5678",)


@pytest.mark.parametrize(
    ("installed", "fixed", "hit"),
    [
        ("3.3.1-r0", "3.3.2-r0", True),
        ("3.3.2-r0", "3.3.2-r0", False),
        ("3.3.2-r1", "3.3.2-r0", False),
    ],
)
def test_alpine_origin_names(tmp_path: Path, installed: str, fixed: str, hit: bool) -> None:
    alpine = OsFacts(family="linux", distro="alpine", version="3.20.3", arch="x86_64")
    package = InstalledPackage(
        name="libcrypto3", version=installed, arch="x86_64", manager="apk", source_name="openssl"
    )
    matched = _matched(
        tmp_path,
        [alpine_record("ALPINE-CVE-2024-5535", "openssl", fixed)],
        _inventory(alpine, [package]),
    )
    assert bool(matched) is hit


def test_ubuntu_lts_release_and_priority(tmp_path: Path) -> None:
    ubuntu = OsFacts(family="linux", distro="ubuntu", version="22.04", arch="x86_64")
    package = InstalledPackage(
        name="libssl3",
        version="3.0.2-0ubuntu1.15",
        arch="amd64",
        manager="dpkg",
        source_name="openssl",
    )
    records = [
        ubuntu_record("UBUNTU-CVE-2024-1", "openssl", "3.0.2-0ubuntu1.16"),
        ubuntu_record("UBUNTU-CVE-2024-2", "openssl", "3.0.2-0ubuntu1.16", release="24.04"),
    ]
    with _index(tmp_path, records) as index:
        scan = find_vulnerabilities(_inventory(ubuntu, [package]), index)
    assert [m.advisory_id for p in scan.packages for m in p.matches] == ["UBUNTU-CVE-2024-1"]
    assert scan.packages[0].severity is Severity.HIGH


def test_last_affected_and_introduced_later(tmp_path: Path) -> None:
    record = debian_record("DSA-9100-1", "glibc", None)
    record["affected"][0]["ranges"] = [
        {
            "type": "ECOSYSTEM",
            "events": [{"introduced": "2.36-9+deb12u1"}, {"last_affected": "2.36-9+deb12u14"}],
        }
    ]
    later = debian_record("DSA-9101-1", "glibc", "2.36-9+deb12u20", introduced="2.36-9+deb12u15")
    matched = _matched(tmp_path, [record, later], _inventory(DEBIAN_12, _debian_packages()))
    assert ("libc6", "DSA-9100-1") in matched
    assert not any(a == "DSA-9101-1" for _, a in matched)


def test_unknown_os_and_empty_release_are_problems_not_findings(tmp_path: Path) -> None:
    with _index(tmp_path, [debian_record("DSA-1-1", "glibc", "9")]) as index:
        fedora = OsFacts(family="linux", distro="fedora", version="40")
        scan = find_vulnerabilities(_inventory(fedora, []), index)
        assert scan.packages == () and "no advisory ecosystem" in scan.problems[0].reason
        alpine = OsFacts(family="linux", distro="alpine", version="3.19.1")
        scan = find_vulnerabilities(_inventory(alpine, []), index)
        assert "holds no advisories for Alpine:3.19" in scan.problems[0].reason
