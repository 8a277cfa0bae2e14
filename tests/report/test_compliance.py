"""``--profile`` in every output format, from the real CLI: the item verdicts and ids reach
JSON (valid against the shipped schema), SARIF (valid against SARIF 2.1.0, items as results
of a tool extension with SARIF's pass/fail/notApplicable/review kinds), JUnit (one case per
item and subject), HTML and the console; ``vmguard rules --profile`` lists the mapping."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema

from clirunner import vmguard
from vmconfig.guides.definitions import write_vmx
from vmguard.report.schema import report_schema

SARIF_SCHEMA = Path(__file__).resolve().parents[1] / "data/schemas/sarif-schema-2.1.0.json"
INSECURE = 'isolation.tools.copy.disable = "FALSE"\nRemoteDisplay.vnc.enabled = "TRUE"\n'


def _vmx(tmp_path: Path) -> Path:
    return write_vmx(tmp_path, "esxi8", INSECURE)


def test_json_carries_every_item_and_validates(tmp_path: Path) -> None:
    """25 STIG items for the one VM; 189 fails on the copy setting; schema-valid."""
    run = vmguard("audit", "--profile", "esxi8-stig", "--format", "json", _vmx(tmp_path))
    document = json.loads(run.stdout)
    jsonschema.Draft202012Validator(report_schema()).validate(document)
    items = {i["id"]: i for i in document["compliance"]["items"]}
    assert len(items) == 25 and items["VMCH-80-000189"]["status"] == "fail"
    assert "isolation.tools.copy.disable" in items["VMCH-80-000189"]["reason"]
    assert items["VMCH-80-000191"]["status"] == "pass"
    # ESXi 8 does not implement RemoteDisplay.vnc.*: no finding at all
    assert not [f for f in document["findings"] if f["rule_id"].startswith("vmx.vnc")]


def test_sarif_items_are_results_with_kinds_and_validate(tmp_path: Path) -> None:
    """Dashboards read item ids from the extension's rules and each result's kind."""
    run = vmguard("audit", "--profile", "vsphere8-scg", "--format", "sarif", _vmx(tmp_path))
    log = json.loads(run.stdout)
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(log)
    (sarif_run,) = log["runs"]
    (extension,) = sarif_run["tool"]["extensions"]
    assert extension["name"] == "vsphere8-scg" and len(extension["rules"]) == 21
    items = {r["ruleId"]: r for r in sarif_run["results"] if "kind" in r}
    assert items["vm-8.deactivate-console-copy"]["kind"] == "fail"
    assert items["vm-8.deactivate-console-paste"]["kind"] == "pass"
    assert items["vm-8.deactivate-console-paste"]["level"] == "none"
    finding = next(r for r in sarif_run["results"] if r["ruleId"] == "vmx.isolation.copy-paste")
    assert finding["properties"]["guideItems"] == ["vm-8.deactivate-console-copy"]


def test_junit_has_a_case_per_item(tmp_path: Path) -> None:
    """Fail is a failure, not applicable and manual are skipped, with the item id."""
    run = vmguard("audit", "--profile", "libvirt-kvm", "--format", "junit", _vmx(tmp_path))
    root = ET.fromstring(run.stdout)
    suite = next(s for s in root.iter("testsuite") if "libvirt-kvm" in (s.get("name") or ""))
    cases = suite.findall("testcase")
    assert len(cases) == 32  # a VMware VM: every item is not applicable, none silently dropped
    assert all(c.find("skipped") is not None for c in cases)
    ids = {p.get("value") for p in suite.iter("property") if p.get("name") == "guide.item"}
    assert {"KVM-01", "KVM-20"} <= ids


def test_html_and_console_show_the_verdicts(tmp_path: Path) -> None:
    """People see each item with its status and, when not passing, why."""
    html = vmguard("audit", "--profile", "esxi8-stig", "--format", "html", _vmx(tmp_path))
    assert "Compliance: DISA VMware vSphere 8.0 Virtual Machine STIG" in html.stdout
    assert "VMCH-80-000189" in html.stdout
    console = vmguard("audit", "--profile", "esxi8-stig", _vmx(tmp_path)).stdout
    line = next(x for x in console.splitlines() if "VMCH-80-000189" in x)
    assert line.split()[0] == "FAIL"


def test_rules_lists_each_items_deciding_rule() -> None:
    """The mapping as data, from the rules' references."""
    run = vmguard("rules", "--profile", "esxi8-stig", "--format", "json")
    items = {i["id"]: i for i in json.loads(run.stdout)["items"]}
    assert items["VMCH-80-000189"]["rules"] == [
        "vmx.isolation.copy-paste (isolation.tools.copy.disable)"
    ]
    assert items["VMCH-80-000210"]["rules"] == ["vmx.cdrom", "vmx.cdrom-host"]


def test_unknown_profile_is_a_usage_error(tmp_path: Path) -> None:
    """One line on stderr, exit 2."""
    run = vmguard("audit", "--profile", "cis-nonsense", _vmx(tmp_path))
    assert run.code == 2
    assert run.stderr.startswith("vmguard: error: --profile cis-nonsense: no such profile")
