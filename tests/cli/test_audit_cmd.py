"""``vmguard audit`` through the real command: exit codes, JSON shape, policy, redaction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirunner import vmguard

FIXTURES = Path(__file__).resolve().parents[1] / "vmconfig" / "fixtures"
SECRETS = ("S3cretVncPass", "TeleportMe2024", "ChangeMe123!", "Vnc-Secret-2024")


def test_one_config_gives_one_contract_report() -> None:
    run = vmguard("audit", "--format", "json", FIXTURES / "insecure-workstation.vmx")
    assert run.code == 1, run.stderr
    report = json.loads(run.stdout)
    assert report["target"] == {
        "kind": "vm-config",
        "path": str(FIXTURES / "insecure-workstation.vmx"),
    }
    assert report["summary"]["high"] >= 1
    finding = report["findings"][0]
    assert finding["location"]["area"] == "config"
    assert finding["subject"] == "insecure-ws"


def test_hardened_config_exits_zero() -> None:
    run = vmguard("audit", FIXTURES / "hardened-esxi.vmx", "--fail-on", "medium")
    assert run.code == 0, run.stdout + run.stderr
    assert "0 high, 0 medium" in run.stdout


def test_several_configs_give_a_reports_list() -> None:
    names = ("hardened.vbox", "insecure.vbox", "hardened.ovf")
    run = vmguard("audit", "--format", "json", *(FIXTURES / n for n in names))
    assert run.code == 1
    document = json.loads(run.stdout)
    assert [r["target"]["path"] for r in document["reports"]] == [str(FIXTURES / n) for n in names]
    assert document["summary"]["high"] == sum(r["summary"]["high"] for r in document["reports"])


@pytest.mark.parametrize("fmt", ["console", "json", "sarif", "html", "junit"])
def test_secrets_never_reach_any_output(fmt: str, tmp_path: Path) -> None:
    out = tmp_path / "report"
    names = ("insecure-workstation.vmx", "insecure.vbox", "insecure.ovf", "hardened-domain.xml")
    run = vmguard("audit", "--format", fmt, "-o", out, *(FIXTURES / n for n in names))
    assert run.code == 1
    text = out.read_text() + run.stdout + run.stderr
    assert "[redacted, " in text
    for secret in SECRETS:
        assert secret not in text


def test_policy_suppresses_with_reason_and_changes_exit_code(tmp_path: Path) -> None:
    policy = tmp_path / "vmguard.toml"
    policy.write_text(
        '[rules]\ndisable = ["vbox.promisc", "vbox.passthrough", "vbox.vrde"]\n'
        '[[suppress]]\nrule = "vbox.sharedfolder"\nvm = "insecure-*"\n'
        'reason = "build share, read by CI only"\n'
    )
    args = ("audit", "--format", "json", FIXTURES / "insecure.vbox")
    run = vmguard(*args, cwd=tmp_path)
    assert run.code == 0, run.stdout
    findings = json.loads(run.stdout)["findings"]
    assert {f["rule_id"] for f in findings}.isdisjoint({"vbox.promisc", "vbox.vrde"})
    (shared,) = [f for f in findings if f["rule_id"] == "vbox.sharedfolder"]
    assert shared["suppressed"] == "build share, read by CI only"
    assert vmguard(*args, "--policy", tmp_path / "missing.toml").code == 2


def test_platform_option_changes_the_verdict_on_absent_keys(tmp_path: Path) -> None:
    vmx = tmp_path / "plain.vmx"
    vmx.write_text('.encoding = "UTF-8"\ndisplayName = "plain"\nvirtualHW.version = "19"\n')
    esxi = json.loads(vmguard("audit", "--format", "json", "--platform", "esxi", vmx).stdout)
    ws = json.loads(vmguard("audit", "--format", "json", "--platform", "workstation", vmx).stdout)
    assert "vmx.isolation.copy-paste" not in {f["rule_id"] for f in esxi["findings"]}
    assert "vmx.isolation.copy-paste" in {f["rule_id"] for f in ws["findings"]}


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"<pool type='dir'/>",
        b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><domain>&x;</domain>',
    ],
)
def test_unusable_input_is_one_error_line(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "bad.xml"
    path.write_bytes(content)
    run = vmguard("audit", path, trace=True)
    assert run.code == 2
    assert run.stderr.startswith("vmguard: error: ") and run.stderr.count("\n") == 1
    assert "/etc/passwd" not in run.opened
    assert path.read_bytes() == content


def test_paths_named_in_definitions_are_never_opened() -> None:
    names = ("insecure-domain.xml", "insecure-workstation.vmx", "insecure.vbox", "insecure.ovf")
    run = vmguard("audit", *(FIXTURES / n for n in names), trace=True)
    assert run.code == 1
    named = (
        "/home/admin",
        "golden-base.qcow2",
        "drivers.flp",
        "insecure-vbox.vdi",
        "/tmp/insecure-ws-serial",
    )
    assert not [p for p in run.opened if any(n in p for n in named)]


def test_no_config_and_no_connect_is_a_usage_error() -> None:
    run = vmguard("audit")
    assert run.code == 2 and run.stderr.startswith("vmguard: error:")


def test_connect_to_the_libvirt_test_driver(tmp_path: Path) -> None:
    pytest.importorskip("libvirt")
    node = tmp_path / "node.xml"
    domain = (FIXTURES / "hardened-domain.xml").read_text().replace("type='kvm'", "type='test'", 1)
    node.write_text(f"<node>{domain}</node>")
    run = vmguard("audit", "--format", "json", "--connect", f"test://{node}")
    assert run.code == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["target"]["path"] == f"test://{node}"
    assert {f["subject"] for f in report["findings"]} == {"hardened-kvm"}
    bad = vmguard("audit", "--connect", f"test://{tmp_path / 'none.xml'}")
    assert bad.code == 2 and bad.stderr.startswith("vmguard: error:")
