"""libvirt domain, network, nwfilter and node files."""

from __future__ import annotations

from pathlib import Path

from vmguard.vmconfig.audit import AuditOptions, audit_paths
from vmguard.vmconfig.loader import load_config

from .corpus import CORPUS, FIXTURES, corpus_files


def _rules(path: Path) -> set[str]:
    (report,) = audit_paths([path], AuditOptions())
    return {f.rule_id for f in report.findings}


def test_vnc_password_in_the_domain_is_respected_and_never_shown() -> None:
    (report,) = audit_paths([FIXTURES / "hardened-domain.xml"], AuditOptions())
    assert "libvirt.vnc-nopass" not in {f.rule_id for f in report.findings}
    assert all("Vnc-Secret-2024" not in f.evidence for f in report.findings)


def test_the_same_image_written_by_two_files_is_found(tmp_path: Path) -> None:
    text = (FIXTURES / "hardened-domain.xml").read_text()
    first, second = tmp_path / "a.xml", tmp_path / "b.xml"
    first.write_text(text)
    second.write_text(text.replace("hardened-kvm", "clone-kvm"))
    reports = audit_paths([first, second], AuditOptions())
    evidence = [
        f.evidence for r in reports for f in r.findings if f.rule_id == "libvirt.writable-base"
    ]
    assert len(evidence) == 2 and "also written by ['clone-kvm']" in evidence[0]


def test_network_and_filter_rules() -> None:
    corpus_files()
    assert "lvnet.forward" in _rules(CORPUS / "libvirt/network/host-bridge-net.xml")
    assert "nwfilter.weak" not in _rules(CORPUS / "libvirt/nwfilter-builtin/clean-traffic.xml")
    assert "lvnet.isolation" not in _rules(CORPUS / "libvirt/network/isolated-ports.xml")


def test_node_files_hold_many_domains() -> None:
    corpus_files()
    document = load_config(CORPUS / "libvirt/virt-manager/testdriver/testsuite.xml")
    assert len(document.vms) == 6
    assert document.networks
