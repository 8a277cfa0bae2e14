"""Every item of the VirtualBox security guide profile that a .vbox shows, with an insecure
and a secure machine, judged through ``--profile virtualbox``.

The machines are the hardened .vbox fixture (settings format 1.19, as VirtualBox 7.0
writes it) with one setting changed the way VBoxManage modifyvm writes it. ``says`` names
what the VirtualBox manual's Security Guide says about the setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from vmguard.profiles.catalogue import profile_named
from vmguard.profiles.model import Scope
from vmguard.profiles.virtualbox import VBOX_ITEMS

from ..corpus import FIXTURES
from .definitions import audit_one, item_status

BASE = (FIXTURES / "hardened.vbox").read_text(encoding="utf-8")
SUBJECT = "hardened-vbox"
_HW = '<Clipboard mode="Disabled"/>'
_MACHINE_END = "  </Machine>"
_ADAPTER = '<Adapter slot="0" enabled="true" MACAddress="080027112233" type="virtio"'
_ISCSI = (
    '<HardDisk uuid="{{2a3b4c5d-6e7f-4081-9a2b-3c4d5e6f7a8b}}" location="iscsi.example:3260|'
    'iqn.2026-01.example:disk|0" format="iSCSI" type="Normal">'
    '<Property name="TargetAddress" value="192.0.2.10"/>'
    '<Property name="TargetName" value="iqn.2026-01.example:disk"/>'
    '<Property name="InitiatorUsername" value="guide-vm"/>{secret}</HardDisk>\n      </HardDisks>'
)

Edit = tuple[str, str]


@dataclass(frozen=True)
class Case:
    """One item: text edits that fail it, edits that pass it, and the manual's warning."""

    item: str
    insecure: tuple[Edit, ...]
    secure: tuple[Edit, ...]
    says: str


CASES = [
    Case("VBOX-01", ((_HW, '<Clipboard mode="Bidirectional"/>'),), (), "the shared clipboard moves data between host and guest"),  # noqa: E501
    Case("VBOX-02", (('<DragAndDrop mode="Disabled"/>', '<DragAndDrop mode="Bidirectional"/>'),), (), "drag and drop moves files between host and guest"),  # noqa: E501
    Case("VBOX-03", ((_HW, '<SharedFolders><SharedFolder name="home" hostPath="/home/alice" writable="true" autoMount="true"/></SharedFolders>' + _HW),), (), "shared folders give the guest access to host files"),  # noqa: E501
    Case("VBOX-04", (('<RemoteDisplay enabled="false"/>', '<RemoteDisplay enabled="true" authType="Null"><VRDEProperties><Property name="TCP/Ports" value="3389"/></VRDEProperties></RemoteDisplay>'),),  # noqa: E501
         (('<RemoteDisplay enabled="false"/>', '<RemoteDisplay enabled="true" authType="External"><VRDEProperties><Property name="TCP/Address" value="127.0.0.1"/><Property name="Security/Method" value="TLS"/></VRDEProperties></RemoteDisplay>'),),  # noqa: E501
         "VRDP without authentication lets anyone connect; use External authentication and TLS"),
    Case("VBOX-05", ((_MACHINE_END, '    <Teleporter enabled="true" port="6000" address=""/>\n' + _MACHINE_END),), ((_MACHINE_END, '    <Teleporter enabled="false"/>\n' + _MACHINE_END),), "teleporting streams the VM state unencrypted"),  # noqa: E501
    Case("VBOX-06", ((_MACHINE_END, '    <Teleporter enabled="false" port="6000" password="TeleGuide2026"/>\n' + _MACHINE_END),), ((_MACHINE_END, '    <Teleporter enabled="false" port="6000"/>\n' + _MACHINE_END),), "the teleporter password is stored in the settings"),  # noqa: E501
    Case("VBOX-07", (("</HardDisks>", _ISCSI.format(secret='<Property name="InitiatorSecret" value="ChapGuide2026"/>')),), (("</HardDisks>", _ISCSI.format(secret="")),), "iSCSI CHAP secrets in the settings are readable by whoever reads the file"),  # noqa: E501
    Case("VBOX-08", (('<Property name="CRYPT/KeyStore" value="U0NORQABQUVTLVhUUzI1Ni1QTEFJTjY0AAAAAAAAAAAAAAAAAAAA"/>', ""),), (), "encrypt disk images holding sensitive data"),  # noqa: E501
    Case("VBOX-09", (('<L1DFlushOn scheduling="true" vmentry="true"/>', '<L1DFlushOn scheduling="false" vmentry="false"/>'),), (), "L1TF (CVE-2018-3646): flush the L1D cache on scheduling or VM entry"),  # noqa: E501
    Case("VBOX-10", (('<MDSClearOn scheduling="true" vmentry="true"/>', '<MDSClearOn scheduling="false" vmentry="false"/>'),), (), "MDS (CVE-2018-12126 and related): clear CPU buffers on scheduling or VM entry"),  # noqa: E501
    Case("VBOX-11", (('<IBPBOn vmexit="true" vmentry="true"/>', '<IBPBOn vmexit="false" vmentry="false"/>'),), (), "Spectre v2: indirect branch prediction barrier on VM exit/entry"),  # noqa: E501
    Case("VBOX-12", (('<SpecCtrl enabled="true"/>', '<SpecCtrl enabled="false"/>'),), (), "speculation control for the guest"),  # noqa: E501
    Case("VBOX-13", ((_HW, '<AudioAdapter driver="Pulse" enabled="true" enabledIn="true" enabledOut="true"/>' + _HW),), ((_HW, '<AudioAdapter driver="Pulse" enabled="true" enabledIn="false" enabledOut="true"/>' + _HW),), "audio input lets the guest listen to the host microphone"),  # noqa: E501
    Case("VBOX-14", ((_HW, '<HostPci><Devices><Device host="768" guest="1280"/></Devices></HostPci>' + _HW),), (), "PCI passthrough gives the guest host hardware"),  # noqa: E501
    Case("VBOX-15", (('hostip="127.0.0.1"', 'hostip=""'),), (), "a NAT port forward without a host IP listens on every host interface"),  # noqa: E501
    Case("VBOX-16", ((_ADAPTER, _ADAPTER + ' promiscuousModePolicy="AllowAll"'),), ((_ADAPTER, _ADAPTER + ' promiscuousModePolicy="Deny"'),), "promiscuous mode lets the guest see others' traffic"),  # noqa: E501
    Case("VBOX-17", ((_ADAPTER, _ADAPTER + ' trace="true" traceFile="/tmp/guide.pcap"'),), (), "network tracing writes all guest traffic to a host file"),  # noqa: E501
    Case("VBOX-18", (('<SpecCtrl enabled="true"/>', '<SpecCtrl enabled="true"/><NestedHWVirt enabled="true"/>'),), (), "nested virtualization exposes hardware virtualization to the guest"),  # noqa: E501
]  # fmt: skip


def _machine(directory: Path, name: str, edits: tuple[Edit, ...]) -> Path:
    text = BASE
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = directory / f"{name}.vbox"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_vm_item_has_a_case() -> None:
    """No item of the guide that a .vbox can show goes untested."""
    assert [c.item for c in CASES] == [i.item_id for i in VBOX_ITEMS if i.scope is Scope.VM]


@pytest.mark.parametrize("case", CASES, ids=[c.item for c in CASES])
def test_vbox_item_follows_the_guide(tmp_path: Path, case: Case) -> None:
    """The insecure machine fails the item, the secure one passes (see ``case.says``)."""
    guide = profile_named("virtualbox")
    bad = audit_one(_machine(tmp_path, "bad", case.insecure), profile=guide)
    good = audit_one(_machine(tmp_path, "good", case.secure), profile=guide)
    assert item_status(bad, case.item, SUBJECT).startswith("fail"), case.says
    assert item_status(good, case.item, SUBJECT).startswith("pass"), case.says


def test_iscsi_secret_is_never_shown(tmp_path: Path) -> None:
    """The CHAP secret appears redacted in findings and compliance reasons alike."""
    report = audit_one(
        _machine(tmp_path, "bad", CASES[6].insecure), profile=profile_named("virtualbox")
    )
    assert report.compliance is not None
    text = " ".join(f.evidence for f in report.findings)
    text += " ".join(r.reason for r in report.compliance.results)
    assert "…[redacted, 13 chars]" in text and "ChapGuide2026" not in text


_OVF = """<?xml version="1.0"?>
<Envelope ovf:version="2.0" xml:lang="en-US" xmlns="http://schemas.dmtf.org/ovf/envelope/2"
    xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/2"
    xmlns:vbox="http://www.virtualbox.org/ovf/machine">
  <References/>
  <VirtualSystem ovf:id="hardened-vbox">
    <Info>A virtual machine</Info>
    {machine}
  </VirtualSystem>
</Envelope>
"""


def _exported(directory: Path, name: str, edits: tuple[Edit, ...]) -> Path:
    """The machine as VirtualBox's OVF export carries it: a <vbox:Machine> in the
    VirtualSystem."""
    text = _machine(directory, name, edits).read_text(encoding="utf-8")
    start, end = text.index("<Machine "), text.index("</Machine>") + len("</Machine>")
    machine = text[start:end].replace("<Machine ", '<vbox:Machine ovf:required="false" ', 1)
    machine = machine.removesuffix("</Machine>") + "</vbox:Machine>"
    path = directory / f"{name}.ovf"
    path.write_text(_OVF.format(machine=machine), encoding="utf-8")
    return path


@pytest.mark.parametrize("case", CASES, ids=[c.item for c in CASES])
def test_exported_ovf_item_follows_the_guide(tmp_path: Path, case: Case) -> None:
    """The same machine inside a VirtualBox OVF export gets the same verdicts."""
    guide = profile_named("virtualbox")
    bad = audit_one(_exported(tmp_path, "bad", case.insecure), profile=guide)
    good = audit_one(_exported(tmp_path, "good", case.secure), profile=guide)
    assert item_status(bad, case.item, SUBJECT).startswith("fail"), case.says
    assert item_status(good, case.item, SUBJECT).startswith("pass"), case.says
