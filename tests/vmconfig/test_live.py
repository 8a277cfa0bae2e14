"""--connect against real libvirt: the built-in test driver with a custom node file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vmguard.vmconfig.audit import AuditOptions, audit_documents
from vmguard.vmconfig.live import read_connection
from vmguard.vmconfig.model import ConfigParseError

from .corpus import FIXTURES

pytest.importorskip("libvirt", reason="libvirt-python (the 'libvirt' extra) is not installed")

NETWORK = """<network>
  <name>lab-open</name>
  <forward mode='open'/>
  <bridge name='virbr9'/>
  <ip address='192.168.150.1' netmask='255.255.255.0'/>
</network>"""


def node_file(tmp_path: Path) -> Path:
    """A test-driver node holding the insecure and hardened domains and an open network."""
    domains = []
    for name in ("insecure-domain.xml", "hardened-domain.xml"):
        text = (FIXTURES / name).read_text()
        text = re.sub(r"<qemu:commandline>.*?</qemu:commandline>", "", text, flags=re.S)
        text = text.replace("type='kvm'", "type='test'", 1)
        domains.append(text)
    path = tmp_path / "node.xml"
    path.write_text("<node>\n" + "\n".join(domains) + "\n" + NETWORK + "\n</node>\n")
    return path


def test_every_domain_and_network_of_a_connection_is_audited(tmp_path: Path) -> None:
    document = read_connection(f"test://{node_file(tmp_path)}")
    assert sorted(v.name for v in document.vms) == ["hardened-kvm", "insecure-kvm"]
    assert [n.name for n in document.networks] == ["lab-open"]
    (report,) = audit_documents([document], AuditOptions())
    subjects = {(f.subject, f.rule_id) for f in report.findings}
    assert ("insecure-kvm", "libvirt.seclabel") in subjects
    assert ("insecure-kvm", "libvirt.vnc-nopass") in subjects
    assert ("lab-open", "lvnet.forward") in subjects
    assert not any(s == "hardened-kvm" and r == "libvirt.vnc-nopass" for s, r in subjects)
    assert all("Vnc-Secret-2024" not in f.evidence for f in report.findings)


def test_an_unusable_uri_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigParseError, match="cannot connect"):
        read_connection(f"test://{tmp_path / 'missing.xml'}")
