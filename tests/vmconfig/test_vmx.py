"""The .vmx reader and the product defaults that decide absent keys."""

from __future__ import annotations

import pytest

from vmguard.findings import Severity
from vmguard.vmconfig.audit import AuditOptions, audit_documents
from vmguard.vmconfig.model import ConfigDocument, ConfigParseError, Platform
from vmguard.vmconfig.vmx import vmx_spec

from .corpus import CORPUS, corpus_files

MINIMAL = b'.encoding = "UTF-8"\nconfig.version = "8"\nvirtualHW.version = "19"\n'


def _findings(data: bytes, platform: Platform | None = None) -> dict[str, list[str]]:
    spec = vmx_spec(data, "test.vmx")
    (report,) = audit_documents([ConfigDocument("test.vmx", vms=(spec,))], AuditOptions(platform))
    found: dict[str, list[str]] = {}
    for finding in report.findings:
        found.setdefault(finding.rule_id, []).append(finding.evidence)
    return found


def test_keys_are_case_insensitive_and_last_one_wins() -> None:
    spec = vmx_spec(b'Floppy0.Present = "FALSE"\nFLOPPY0.PRESENT = "TRUE"\n', "x.vmx")
    found = spec.setting("floppy0.present")
    assert found is not None and found.value == "TRUE"


def test_libvirt_case_insensitive_samples_read_the_same() -> None:
    corpus_files()
    one = vmx_spec((CORPUS / "vmx/libvirt/case-insensitive-1.vmx").read_bytes(), "1")
    two = vmx_spec((CORPUS / "vmx/libvirt/case-insensitive-2.vmx").read_bytes(), "2")
    assert set(one.settings) == set(two.settings)
    assert one.platform is two.platform is Platform.WORKSTATION


@pytest.mark.parametrize("value", ["TRUE", "true", "1", "True"])
def test_booleans_in_every_spelling(value: str) -> None:
    assert "vmx.floppy" in _findings(MINIMAL + f'floppy0.present = "{value}"\n'.encode())


@pytest.mark.parametrize("value", ["FALSE", "false", "0"])
def test_false_in_every_spelling(value: str) -> None:
    assert "vmx.floppy" not in _findings(MINIMAL + f'floppy0.present = "{value}"\n'.encode())


def test_missing_copy_key_is_safe_on_esxi_and_unsafe_on_workstation() -> None:
    assert "vmx.isolation.copy-paste" not in _findings(MINIMAL, Platform.ESXI)
    workstation = _findings(MINIMAL, Platform.WORKSTATION)["vmx.isolation.copy-paste"]
    assert "absent" in workstation[0]
    unknown = _findings(MINIMAL)["vmx.isolation.copy-paste"]
    assert "[assumption: product unknown" in unknown[0]


def test_platform_is_inferred_from_the_file() -> None:
    hosted = vmx_spec(MINIMAL + b'virtualHW.productCompatibility = "hosted"\n', "h")
    esxi = vmx_spec(MINIMAL + b'sched.swap.derivedName = "/vmfs/volumes/ds1/vm/vm.vswp"\n', "e")
    assert hosted.platform is Platform.WORKSTATION
    assert esxi.platform is Platform.ESXI
    assert vmx_spec(MINIMAL, "u").platform is None


def test_hex_escapes_are_decoded() -> None:
    spec = vmx_spec(b'displayName = "a|22b|7Cc"\n', "x.vmx")
    assert spec.name == 'a"b|c'


def test_vnc_password_is_never_shown_whole() -> None:
    data = (
        MINIMAL
        + b'RemoteDisplay.vnc.enabled = "TRUE"\nRemoteDisplay.vnc.password = "hunter2hunter2"\n'
    )
    evidence = " ".join(_findings(data)["vmx.vnc-auth"])
    assert "hunter2hunter2" not in evidence
    assert "hun…[redacted, 14 chars]" in evidence


def test_a_vnc_password_left_after_disabling_is_medium() -> None:
    spec = vmx_spec(MINIMAL + b'RemoteDisplay.vnc.password = "leftover-pass"\n', "x.vmx")
    (report,) = audit_documents([ConfigDocument("x", vms=(spec,))], AuditOptions())
    (hit,) = [f for f in report.findings if f.rule_id == "vmx.vnc-auth"]
    assert hit.severity is Severity.MEDIUM


@pytest.mark.parametrize(
    "data", [b"", b"\x00\x01binary", b"this is not a vmx\n", b'key = "unterminated\n']
)
def test_non_vmx_input_is_refused(data: bytes) -> None:
    with pytest.raises(ConfigParseError):
        vmx_spec(data, "bad.vmx")


def test_superscript_digits_are_not_a_hardware_version() -> None:
    """ "²0".isdigit() is true and int("²0") fails: found by fuzzing, now no version."""
    spec = vmx_spec('config.version = "8"\nvirtualHW.version = "\u00b20"\n'.encode(), "vm.vmx")
    assert spec.hardware_version is None
    assert vmx_spec(b'virtualHW.version = "19"\n', "vm.vmx").hardware_version == 19
