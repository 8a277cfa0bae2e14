"""Every item of the ESXi 8 VM STIG and the vSphere 8 SCG VM controls, with the guide's own
insecure and secure setting, judged through ``--profile`` on an ESXi 8 .vmx and, where a
vSphere OVF can carry the setting (vmw:ExtraConfig), on an OVF.

The verdicts come from the guides' text, quoted in each case's ``says``: the SCG 8 controls
CSV (columns "Configuration Parameter", "Installation Default Value", "Baseline Suggested
Value") and, for the STIG, DISA's check text or the SCG CSV's "DISA STIG Requirement"
column for the same parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from vmguard.profiles.catalogue import profile_named
from vmguard.profiles.vmware import SCG_ITEMS, STIG_ITEMS

from .definitions import audit_one, item_status, write_ovf, write_vmx


@dataclass(frozen=True)
class Case:
    """One guide item: a setting the guide fails, one it passes, and its words."""

    item: str
    insecure: str
    secure: str
    says: str
    ovf: bool = True
    """Whether an OVF's ExtraConfig can carry the setting."""


def _flag(key: str, bad: str, good: str, says: str) -> tuple[str, str, str]:
    return f'{key} = "{bad}"\n', f'{key} = "{good}"\n', says


SCG = [
    Case("vm-8.deactivate-console-copy", *_flag("isolation.tools.copy.disable", "FALSE", "TRUE", "isolation.tools.copy.disable; Baseline Suggested Value: TRUE or Undefined")),  # noqa: E501
    Case("vm-8.deactivate-console-paste", *_flag("isolation.tools.paste.disable", "FALSE", "TRUE", "isolation.tools.paste.disable; Baseline Suggested Value: TRUE or Undefined")),  # noqa: E501
    Case("vm-8.deactivate-disk-shrinking-shrink", *_flag("isolation.tools.diskShrink.disable", "FALSE", "TRUE", "isolation.tools.diskShrink.disable; TRUE or Undefined")),  # noqa: E501
    Case("vm-8.deactivate-disk-shrinking-wiper", *_flag("isolation.tools.diskWiper.disable", "FALSE", "TRUE", "isolation.tools.diskWiper.disable; TRUE or Undefined")),  # noqa: E501
    Case("vm-8.deactivate-non-essential-3d-features", *_flag("mks.enable3d", "TRUE", "FALSE", "mks.enable3d; Baseline Suggested Value: FALSE")),  # noqa: E501
    Case("vm-8.dvfilter", 'ethernet0.filter0.name = "dvfilter-generic-vmware"\n', "", "ethernet*.filter*.name; Baseline Suggested Value: Not Present"),  # noqa: E501
    Case("vm-8.efi-boot-types", "", 'bios.bootDeviceClasses = "allow:hd"\n', 'bios.bootDeviceClasses; Installation Default Value: allow:all; Baseline: "allow:hd once the guest OS is installed"', ovf=False),  # noqa: E501
    Case("vm-8.ft-encrypted", 'ftcpt.ftEncryptionMode = "ftEncryptionOpportunistic"\n', 'ftcpt.ftEncryptionMode = "ftEncryptionRequired"\n', "Installation Default Value: ftEncryptionOpportunistic; Baseline Suggested Value: ftEncryptionRequired", ovf=False),  # noqa: E501
    Case("vm-8.isolation-device-connectable-deactivate", *_flag("isolation.device.connectable.disable", "FALSE", "TRUE", "isolation.device.connectable.disable; TRUE or Undefined")),  # noqa: E501
    Case("vm-8.isolation-tools-dnd-deactivate", *_flag("isolation.tools.dnd.disable", "FALSE", "TRUE", "isolation.tools.dnd.disable; TRUE or Undefined")),  # noqa: E501
    Case("vm-8.limit-console-connections", "", 'RemoteDisplay.maxConnections = "1"\n', "RemoteDisplay.maxConnections; Installation Default Value: -1; Baseline Suggested Value: 1", ovf=False),  # noqa: E501
    Case("vm-8.limit-setinfo-size", *_flag("tools.setInfo.sizeLimit", "4194304", "1048576", "tools.setInfo.sizeLimit; Baseline Suggested Value: 1048576 or Undefined")),  # noqa: E501
    Case("vm-8.log-enable", *_flag("logging", "FALSE", "TRUE", "Enable Logging; Baseline Suggested Value: TRUE")),  # noqa: E501
    Case("vm-8.log-retention", *_flag("log.keepOld", "100", "10", "log.keepOld; Baseline Suggested Value: 10 or Undefined")),  # noqa: E501
    Case("vm-8.log-rotation-size", *_flag("log.rotateSize", "0", "2048000", "log.rotateSize; Baseline Suggested Value: 2048000 or Undefined")),  # noqa: E501
    Case("vm-8.pci-passthrough", 'pciPassthru0.present = "TRUE"\n', "", "Baseline Suggested Value: Not Present"),  # noqa: E501
    Case("vm-8.remove-unnecessary-devices", 'floppy0.present = "TRUE"\nserial0.present = "TRUE"\n', 'floppy0.present = "FALSE"\n', 'Installation Default Value: Configured; Baseline Suggested Value: Not Present ("Rarely-used ports, temporary CD/DVD drives")'),  # noqa: E501
    Case("vm-8.restrict-host-info", *_flag("tools.guestlib.enableHostInfo", "TRUE", "FALSE", "tools.guestlib.enableHostInfo; FALSE or Undefined")),  # noqa: E501
    Case("vm-8.transparentpagesharing-inter-vm-enabled", 'sched.mem.pshare.salt = "shared-salt"\n', "", "sched.mem.pshare.salt; Baseline Suggested Value: Not Present"),  # noqa: E501
    Case("vm-8.vmotion-encrypted", *_flag("migrate.encryptionMode", "opportunistic", "required", "Installation Default Value: opportunistic; Baseline Suggested Value: required"), ovf=False),  # noqa: E501
    Case("vm-8.vmrc-lock", "", 'tools.guest.desktop.autolock = "TRUE"\n', "tools.guest.desktop.autolock; Installation Default Value: FALSE; Baseline Suggested Value: TRUE"),  # noqa: E501
]  # fmt: skip

STIG = [
    Case("VMCH-80-000189", *_flag("isolation.tools.copy.disable", "FALSE", "TRUE", "DISA STIG Requirement (isolation.tools.copy.disable): TRUE")),  # noqa: E501
    Case("VMCH-80-000191", *_flag("isolation.tools.dnd.disable", "FALSE", "TRUE", "DISA STIG Requirement (isolation.tools.dnd.disable): TRUE")),  # noqa: E501
    Case("VMCH-80-000192", *_flag("isolation.tools.paste.disable", "FALSE", "TRUE", "DISA STIG Requirement (isolation.tools.paste.disable): TRUE")),  # noqa: E501
    Case("VMCH-80-000193", *_flag("isolation.tools.diskShrink.disable", "FALSE", "TRUE", "DISA STIG Requirement (isolation.tools.diskShrink.disable): TRUE")),  # noqa: E501
    Case("VMCH-80-000194", *_flag("isolation.tools.diskWiper.disable", "FALSE", "TRUE", "DISA STIG Requirement (isolation.tools.diskWiper.disable): TRUE")),  # noqa: E501
    Case("VMCH-80-000195", *_flag("RemoteDisplay.maxConnections", "40", "1", "DISA STIG Requirement (RemoteDisplay.maxConnections): 1"), ovf=False),  # noqa: E501
    Case("VMCH-80-000196", *_flag("tools.setInfo.sizeLimit", "4194304", "1048576", "DISA STIG Requirement (tools.setInfo.sizeLimit): 1048576")),  # noqa: E501
    Case("VMCH-80-000197", *_flag("isolation.device.connectable.disable", "FALSE", "TRUE", "DISA STIG Requirement (isolation.device.connectable.disable): TRUE")),  # noqa: E501
    Case("VMCH-80-000198", *_flag("tools.guestlib.enableHostInfo", "TRUE", "FALSE", "DISA STIG Requirement (tools.guestlib.enableHostInfo): FALSE")),  # noqa: E501
    Case("VMCH-80-000199", 'sched.mem.pshare.salt = "shared-salt"\n', "", "DISA STIG Requirement (sched.mem.pshare.salt): Not Present"),  # noqa: E501
    Case("VMCH-80-000200", 'ethernet0.filter0.name = "dvfilter-generic-vmware"\n', "", "DISA STIG Requirement (ethernet*.filter*.name): Not Present"),  # noqa: E501
    Case("VMCH-80-000201", *_flag("tools.guest.desktop.autolock", "FALSE", "TRUE", "DISA STIG Requirement (tools.guest.desktop.autolock): TRUE")),  # noqa: E501
    Case("VMCH-80-000202", *_flag("mks.enable3d", "TRUE", "FALSE", "DISA STIG Requirement (mks.enable3d): FALSE")),  # noqa: E501
    Case("VMCH-80-000203", *_flag("migrate.encryptionMode", "disabled", "opportunistic", 'STIG: "This must be set to \\"Opportunistic\\" or \\"Required\\"."'), ovf=False),  # noqa: E501
    Case("VMCH-80-000204", *_flag("ftcpt.ftEncryptionMode", "ftEncryptionDisabled", "ftEncryptionOpportunistic", 'STIG check: "If the \\"Encrypted FT\\" setting does not have a value of \\"Opportunistic\\" or \\"Required\\", this is a finding."'), ovf=False),  # noqa: E501
    Case("VMCH-80-000205", 'log.rotateSize = "0"\n', "", 'STIG check: "If the virtual machine advanced setting \\"log.rotateSize\\" is not set to \\"2048000\\", this is a finding. ... does NOT exist, this is NOT a finding."'),  # noqa: E501
    Case("VMCH-80-000206", *_flag("log.keepOld", "100", "10", "DISA STIG Requirement (log.keepOld): 10")),  # noqa: E501
    Case("VMCH-80-000207", *_flag("logging", "FALSE", "TRUE", "DISA STIG Requirement (Enable Logging): TRUE")),  # noqa: E501
    Case("VMCH-80-000208", *_flag("scsi0:0.mode", "independent-nonpersistent", "persistent", "STIG title: VMs must not use independent, nonpersistent disks"), ovf=False),  # noqa: E501
    Case("VMCH-80-000209", 'floppy0.present = "TRUE"\n', 'floppy0.present = "FALSE"\n', "SCG vm-8.remove-unnecessary-devices maps VMCH-80-000209; requirement: Not Present", ovf=False),  # noqa: E501
    Case("VMCH-80-000210", 'ide1:0.present = "TRUE"\nide1:0.deviceType = "cdrom-raw"\nide1:0.fileName = "/dev/sr0"\n', 'ide1:0.present = "TRUE"\nide1:0.deviceType = "cdrom-image"\nide1:0.startConnected = "FALSE"\n', 'STIG check: "If a virtual machine has a CD/DVD drive connected other than temporarily, this is a finding."', ovf=False),  # noqa: E501
    Case("VMCH-80-000211", 'parallel0.present = "TRUE"\n', "", "SCG vm-8.remove-unnecessary-devices maps VMCH-80-000211; requirement: Not Present", ovf=False),  # noqa: E501
    Case("VMCH-80-000212", 'serial0.present = "TRUE"\nserial0.fileType = "network"\n', "", "SCG vm-8.remove-unnecessary-devices maps VMCH-80-000212; requirement: Not Present", ovf=False),  # noqa: E501
    Case("VMCH-80-000213", 'usb.present = "TRUE"\n', "", "SCG vm-8.remove-unnecessary-devices maps VMCH-80-000213; requirement: Not Present", ovf=False),  # noqa: E501
    Case("VMCH-80-000214", 'pciPassthru0.present = "TRUE"\n', "", "SCG vm-8.pci-passthrough maps VMCH-80-000214; requirement: Not Present", ovf=False),  # noqa: E501
]  # fmt: skip

CASES = [("vsphere8-scg", c) for c in SCG] + [("esxi8-stig", c) for c in STIG]


def test_every_item_has_a_case() -> None:
    """No item of either guide goes untested."""
    assert [c.item for c in SCG] == [i.item_id for i in SCG_ITEMS]
    assert [c.item for c in STIG] == [i.item_id for i in STIG_ITEMS]


@pytest.mark.parametrize(("profile", "case"), CASES, ids=[c.item for _, c in CASES])
def test_vmx_item_follows_the_guide(tmp_path: Path, profile: str, case: Case) -> None:
    """The guide's insecure setting fails the item on an ESXi 8 .vmx, its secure one passes
    (what the guide says is in ``case.says``)."""
    guide = profile_named(profile)
    bad = audit_one(write_vmx(tmp_path, "esxi8", case.insecure), profile=guide)
    (tmp_path / "good").mkdir()
    good = audit_one(write_vmx(tmp_path / "good", "esxi8", case.secure), profile=guide)
    assert item_status(bad, case.item).startswith("fail"), case.says
    assert item_status(good, case.item).startswith("pass"), case.says


@pytest.mark.parametrize(
    ("profile", "case"),
    [(p, c) for p, c in CASES if c.ovf],
    ids=[c.item for _, c in CASES if c.ovf],
)
def test_ovf_item_follows_the_guide(tmp_path: Path, profile: str, case: Case) -> None:
    """A vSphere OVF carries the same parameter as vmw:ExtraConfig: same verdicts."""
    guide = profile_named(profile)
    (tmp_path / "bad").mkdir()
    (tmp_path / "good").mkdir()
    bad = audit_one(write_ovf(tmp_path / "bad", case.insecure), profile=guide)
    good = audit_one(write_ovf(tmp_path / "good", case.secure), profile=guide)
    assert item_status(bad, case.item).startswith("fail"), case.says
    assert item_status(good, case.item).startswith("pass"), case.says


def test_ovf_cannot_show_vm_settings_so_they_are_manual(tmp_path: Path) -> None:
    """vMotion and FT encryption modes are VM configuration an OVF does not carry."""
    report = audit_one(write_ovf(tmp_path, ""), profile=profile_named("vsphere8-scg"))
    assert item_status(report, "vm-8.vmotion-encrypted").startswith("manual")


def test_a_workstation_vm_is_not_in_the_esxi_guides(tmp_path: Path) -> None:
    """The STIG covers vSphere VMs: a hosted (Workstation) definition is not applicable."""
    path = write_vmx(tmp_path, "workstation", 'isolation.tools.copy.disable = "FALSE"\n')
    report = audit_one(path, profile=profile_named("esxi8-stig"))
    assert item_status(report, "VMCH-80-000189").startswith("not-applicable")


FLOPPY_ITEM = """      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:ElementName>Floppy drive 1</rasd:ElementName>
        <rasd:InstanceID>8</rasd:InstanceID>
        <rasd:ResourceType>14</rasd:ResourceType>
      </Item>
"""


def test_ovf_hardware_items_decide_the_device_items(tmp_path: Path) -> None:
    """VMCH-80-000209 on an OVF: the floppy is a RASD Item (ResourceType 14), not a key."""
    stig = profile_named("esxi8-stig")
    (tmp_path / "bad").mkdir()
    bad = audit_one(write_ovf(tmp_path / "bad", "", items=FLOPPY_ITEM), profile=stig)
    good = audit_one(write_ovf(tmp_path, ""), profile=stig)
    assert item_status(bad, "VMCH-80-000209").startswith("fail")
    assert item_status(bad, "VMCH-80-000212").startswith("pass")  # a floppy is not a serial port
    assert item_status(good, "VMCH-80-000209").startswith("pass")


def test_a_vm_name_never_decides_an_item(tmp_path: Path) -> None:
    """A VM called after a key (isolation.tools.copy.disable) does not fail the copy item
    through a paste finding."""
    name = "isolation.tools.copy.disable"
    path = write_vmx(tmp_path, "esxi8", 'isolation.tools.paste.disable = "FALSE"\n', name)
    report = audit_one(path, profile=profile_named("esxi8-stig"))
    assert item_status(report, "VMCH-80-000192", name).startswith("fail")
    assert item_status(report, "VMCH-80-000189", name).startswith("pass")


def test_a_profile_never_changes_a_hosted_vms_findings(tmp_path: Path) -> None:
    """The ESXi guides assume ESXi 8 only for files that do not name their product: a
    Workstation VM keeps its Workstation verdicts (copy/paste absent is unsafe there)."""
    path = write_vmx(tmp_path, "workstation", "")
    plain = {f.rule_id for f in audit_one(path).findings}
    profiled = {f.rule_id for f in audit_one(path, profile=profile_named("esxi8-stig")).findings}
    assert "vmx.isolation.copy-paste" in plain
    assert profiled == plain


def test_a_file_without_its_product_is_judged_as_the_guides(tmp_path: Path) -> None:
    """vmx-20 without productCompatibility: under the ESXi 8 STIG it is an ESXi 8 VM, so
    RemoteDisplay.vnc.* gives no finding (not implemented on ESXi 8)."""
    path = write_vmx(tmp_path, "unknown", 'RemoteDisplay.vnc.enabled = "TRUE"\n')
    assert {f.rule_id for f in audit_one(path).findings} >= {"vmx.vnc"}
    profiled = audit_one(path, profile=profile_named("esxi8-stig"))
    assert "vmx.vnc" not in {f.rule_id for f in profiled.findings}
