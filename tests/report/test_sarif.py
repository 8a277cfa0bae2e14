"""SARIF output of the real CLI, validated against the official SARIF 2.1.0 schema, with the
mapping GitHub code scanning reads (levels, security-severity, locations, suppressions)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urljoin

import jsonschema
import pytest

from clirunner import Run, vmguard
from report.samples import HOSTILE_NAMES
from vmguard.findings import Report

SARIF_SCHEMA = Path(__file__).resolve().parents[1] / "data/schemas/sarif-schema-2.1.0.json"
CORPUS = Path(__file__).resolve().parents[1] / "data/corpus"
CONFIG_A = CORPUS / "libvirt/qemuxmlconfdata/blkdeviotune.xml"


def _validator() -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text()))


def _valid(run: Run) -> dict:
    log = json.loads(run.stdout)
    errors = [f"{list(e.path)}: {e.message}" for e in _validator().iter_errors(log)]
    assert errors == []
    return log


def test_the_schema_validator_rejects_a_broken_log(planted_runs: dict[str, Run]) -> None:
    log = json.loads(planted_runs["sarif"].stdout)
    log["runs"][0]["results"][0]["level"] = "critical"  # not a SARIF level
    del log["runs"][0]["tool"]["driver"]["name"]
    assert len(list(_validator().iter_errors(log))) == 2


def test_planted_scan_is_valid_sarif_with_every_finding(
    planted_runs: dict[str, Run], planted_report: Report
) -> None:
    run = planted_runs["sarif"]
    assert run.code == 1, run.stderr
    log = _valid(run)
    (sarif_run,) = log["runs"]
    driver = sarif_run["tool"]["driver"]
    assert driver["name"] == "vmguard" and driver["version"]
    results = sarif_run["results"]
    assert len(results) == len(planted_report.findings)
    rules = driver["rules"]
    assert [r["id"] for r in rules] == sorted({f.rule_id for f in planted_report.findings})
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"].startswith("How to fix: ")
        assert "**How to fix:**" in rule["help"]["markdown"]
        assert rule["properties"]["tags"][1] in {f.threat.value for f in planted_report.findings}


def test_levels_and_security_severity_follow_the_severity(
    planted_runs: dict[str, Run], planted_report: Report
) -> None:
    results = json.loads(planted_runs["sarif"].stdout)["runs"][0]["results"]
    expected = {
        "critical": ("error", "9.5"),
        "high": ("error", "8.0"),
        "medium": ("warning", "5.5"),
        "low": ("note", "3.0"),
        "info": ("note", "0.0"),
    }
    seen = set()
    for result in results:
        severity = result["properties"]["severity"]
        assert (result["level"], result["properties"]["security-severity"]) == expected[severity]
        seen.add(severity)
    assert {"critical", "high", "medium", "low"} <= seen
    rules = json.loads(planted_runs["sarif"].stdout)["runs"][0]["tool"]["driver"]["rules"]
    aws = next(r for r in rules if r["id"] == "secret.aws-access-key")
    assert aws["defaultConfiguration"]["level"] == "error"
    assert aws["properties"]["security-severity"] == "9.5"


def test_guest_files_are_relative_to_the_image_and_free_space_is_a_logical_location(
    planted_runs: dict[str, Run], planted_disk: Path
) -> None:
    (sarif_run,) = json.loads(planted_runs["sarif"].stdout)["runs"]
    base = sarif_run["originalUriBaseIds"]["IMAGEROOT"]["uri"]
    assert base == planted_disk.absolute().as_uri() + "/"
    by_uri = {}
    for result in sarif_run["results"]:
        location = result["locations"][0]
        by_uri.setdefault(location["physicalLocation"]["artifactLocation"]["uri"], []).append(
            location
        )
    (shadow,) = by_uri["home/alice/.aws/credentials"]
    assert shadow["physicalLocation"]["artifactLocation"]["uriBaseId"] == "IMAGEROOT"
    assert shadow["physicalLocation"]["region"] == {"startLine": 2}
    deleted = by_uri[planted_disk.absolute().as_uri()]
    assert sorted(loc["logicalLocations"][0]["name"].split()[1] for loc in deleted) == ["1", "2"]
    for loc in deleted:
        assert loc["logicalLocations"][0]["kind"] == "unallocated-space"
        assert "byte offset" in loc["logicalLocations"][0]["name"]


def test_partial_fingerprints_never_hold_the_secret_digest(
    planted_runs: dict[str, Run], planted_fingerprints: list[str]
) -> None:
    text = planted_runs["sarif"].stdout
    for digest in planted_fingerprints:
        assert digest not in text
    results = json.loads(text)["runs"][0]["results"]
    prints = [r["partialFingerprints"]["vmguardLocation/v1"] for r in results]
    assert len(set(prints)) == len(prints)  # distinct findings stay distinct for GitHub


def test_hostile_guest_names_stay_inside_the_image_root(hostile_image: Path) -> None:
    run = vmguard("scan", "--format", "sarif", hostile_image)
    (sarif_run,) = _valid(run)["runs"]
    base = sarif_run["originalUriBaseIds"]["IMAGEROOT"]["uri"]
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif_run["results"]
    ]
    assert sorted(unquote(u) for u in uris) == sorted(f"srv/{name}" for name in HOSTILE_NAMES)
    for uri in uris:
        resolved = urljoin(base, uri)
        assert resolved.startswith(base) and "#" not in resolved and "?" not in resolved


def test_several_configs_are_one_run_and_suppressions_carry_the_reason(tmp_path: Path) -> None:
    configs = [*sorted((CORPUS / "vmx").rglob("*.vmx"))[:3], CONFIG_A]
    policy = tmp_path / "vmguard.toml"
    policy.write_text(
        '[[suppress]]\nrule = "libvirt.disk-encryption"\nreason = "disks sit on LUKS, SEC-7"\n'
    )
    run = vmguard("audit", "--format", "sarif", "--policy", policy, *configs, cwd=tmp_path)
    assert run.code in (0, 1), run.stderr
    (sarif_run,) = _valid(run)["runs"]
    assert [t["path"] for t in sarif_run["properties"]["targets"]] == [str(c) for c in configs]
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif_run["results"]
    }
    assert CONFIG_A.as_uri() in uris and len(uris) > 1
    suppressed = [r for r in sarif_run["results"] if "suppressions" in r]
    assert suppressed
    for result in suppressed:
        assert result["ruleId"] == "libvirt.disk-encryption"
        assert result["suppressions"] == [
            {"kind": "external", "justification": "disks sit on LUKS, SEC-7"}
        ]
    assert all("suppressions" not in r for r in sarif_run["results"] if r not in suppressed)
    assert "originalUriBaseIds" not in sarif_run  # configuration files are plain file URIs


@pytest.mark.parametrize("command", ["inspect", "scan"])
def test_a_clean_target_is_a_valid_log_with_no_results(command: str, tmp_path: Path) -> None:
    image = tmp_path / "empty.img"
    import subprocess

    (tmp_path / "t").mkdir()
    subprocess.run(["mkfs.ext4", "-q", "-d", str(tmp_path / "t"), str(image), "8M"], check=True)
    run = vmguard(command, "--format", "sarif", image)
    assert run.code == 0, run.stderr
    (sarif_run,) = _valid(run)["runs"]
    assert sarif_run["results"] == [] and sarif_run["tool"]["driver"]["rules"] == []
