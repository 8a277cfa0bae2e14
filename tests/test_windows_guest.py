"""End to end on a Windows-style guest built with real tools (GPT: ESP + MSR + NTFS; hives
by Samba and hivex; files by ntfs-3g), in qcow2 and VHDX: every planted account, program,
leak and weak setting found at its path; the hardened twin with decoys gives nothing at
high or above; no secret, nor its reversible encoding, printed whole in any format."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import jsonschema
import pytest

from clirunner import vmguard
from vmguard.report.schema import report_schema
from vmguard.scanning import ScanOptions, scan_image
from windowsimage import convert, windows_disk
from windowsplanted import GPP_SAMPLE, PLANTED, SECRETS, build_tree


@pytest.fixture(scope="module")
def planted_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("planted")
    return windows_disk(build_tree(work / "tree"), work)


@pytest.fixture(scope="module")
def clean_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("clean")
    return windows_disk(build_tree(work / "tree", clean=True), work)


@pytest.mark.parametrize("fmt", ["qcow2", "vhdx"])
def test_every_planted_item_found(planted_raw: Path, fmt: str) -> None:
    disk = convert(planted_raw, fmt)
    report = scan_image(disk, ScanOptions(workers=1))
    found = {(f.rule_id, f.location.path) for f in report.findings}
    assert found >= PLANTED, sorted(PLANTED - found)
    unexpected = {
        (rule, path)
        for rule, path in found - PLANTED
        if not rule.startswith("secret.") or "ControlSet001" in path
    }
    assert unexpected == set()
    # the scrubbed answer file and the empty cpassword are decoys
    assert not [f for f in report.findings if f.location.path.endswith("Sysprep/unattend.xml")]
    gpp = [f for f in report.findings if f.rule_id == "secret.gpp-cpassword"]
    assert len(gpp) == 1 and "svc_local" in gpp[0].evidence
    assert report.errors == ()

    inventory = report.inventory
    assert inventory is not None and inventory.os is not None
    assert (inventory.os.pretty_name, inventory.os.hostname) == (
        "Windows Server 2022 Datacenter",
        "WIN-PLANTED01",
    )
    users = {(u.name, u.uid, u.disabled, u.password, u.admin) for u in inventory.users}
    assert ("Administrator", 500, False, "empty", True) in users
    assert ("carol", 1003, True, "empty", False) in users and len(users) == 6
    assert {u.name: u.home for u in inventory.users if u.home} == {"alice": "/Users/alice"}
    assert {(p.name, p.arch, p.vendor) for p in inventory.packages} == {
        ("7-Zip 23.01 (x64)", "x86_64", "Igor Pavlov"),
        ("Notepad++ (32-bit x86)", "i386", "Notepad++ Team"),
    }
    assert [(s.name, s.start) for s in inventory.services] == [
        ("Spooler", "automatic"),
        ("TermService", "manual"),
    ]
    assert [p.role for p in inventory.partitions] == [
        "EFI system",
        "Microsoft reserved",
        "basic data",
    ]


def test_clean_guest_has_nothing_high(clean_raw: Path) -> None:
    report = scan_image(convert(clean_raw, "qcow2"), ScanOptions(workers=1))
    assert [f for f in report.findings if f.severity.rank >= 3] == []
    assert report.errors == ()


def test_no_secret_printed_whole_in_any_format(planted_raw: Path, tmp_path: Path) -> None:
    disk = convert(planted_raw, "qcow2")
    encoded = [
        GPP_SAMPLE,
        base64.b64encode(SECRETS["filezilla"].encode()).decode(),
        base64.b64encode(
            (SECRETS["unattend_admin"] + "AdministratorPassword").encode("utf-16-le")
        ).decode(),
    ]
    outputs = []
    for fmt in ("console", "json", "sarif", "html"):
        run = vmguard("scan", "--format", fmt, disk, timeout=180)
        assert run.code == 1, run.stderr
        outputs.append(run.stdout)
    sbom = vmguard("sbom", disk, timeout=180)
    assert sbom.code == 0, sbom.stderr
    components = json.loads(sbom.stdout)["components"]
    assert {(c["name"], c.get("cpe")) for c in components} == {
        ("7-Zip 23.01 (x64)", "cpe:2.3:a:igor_pavlov:7-zip_23.01_\\(x64\\):23.01:*:*:*:*:*:*:*"),
        (
            "Notepad++ (32-bit x86)",
            "cpe:2.3:a:notepad\\+\\+_team:notepad\\+\\+_\\(32-bit_x86\\):8.5.8:*:*:*:*:*:*:*",
        ),
    }
    assert {c["purl"].split("@")[0] for c in components} == {
        "pkg:generic/Igor%20Pavlov/7-Zip%2023.01%20%28x64%29",
        "pkg:generic/Notepad%2B%2B%20Team/Notepad%2B%2B%20%2832-bit%20x86%29",
    }
    for text in outputs:
        for secret in [*SECRETS.values(), *encoded]:
            assert secret not in text
    assert "Local accounts (SAM)" in outputs[0] and "Services 2 (1 automatic)" in outputs[0]
    assert "secret.gpp-cpassword" in outputs[1] and "windows.smb1-enabled" in outputs[1]
    document = json.loads(outputs[1])
    validator = jsonschema.Draft202012Validator(report_schema())
    assert [e.message for e in validator.iter_errors(document)] == []
    inventory = document["inventory"]
    assert {"name": "Spooler", "start": "automatic"}.items() <= inventory["services"][0].items()
    assert {u["name"]: (u["admin"], u["disabled"]) for u in inventory["users"]}["Guest"] == (
        False,
        False,
    )
