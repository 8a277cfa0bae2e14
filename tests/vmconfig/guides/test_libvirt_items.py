"""Every item of the libvirt/KVM profile that a domain XML shows, with an insecure and a
secure domain taken from libvirt's and Red Hat's documentation, judged through
``--profile libvirt-kvm``. Every domain is accepted by libvirt's virt-xml-validate.

``says`` carries what the source says about the setting (libvirt formatdomain.rst and
drvqemu.rst sections; RHEL 9 "Securing virtual machines"), paraphrased where the docs do
not phrase a pass/fail rule themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from vmguard.profiles.catalogue import profile_named
from vmguard.profiles.libvirt_kvm import KVM_ITEMS
from vmguard.profiles.model import Scope

from .definitions import audit_one, item_status
from .domains import write_domain

_EFI_SB = (
    "<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type><firmware>"
    "<feature enabled='yes' name='enrolled-keys'/><feature enabled='yes' name='secure-boot'/>"
    "</firmware><loader secure='yes'/></os>"
)
_USB_NONE = "<controller type='usb' model='none'/>"


@dataclass(frozen=True)
class Case:
    """One item: domain parts that fail it, parts that pass it, and the source's words."""

    item: str
    insecure: dict[str, str]
    secure: dict[str, str] = field(default_factory=dict)
    says: str = ""


CASES = [
    Case("KVM-20", {"seclabel": "<seclabel type='none'/>"}, {"seclabel": "<seclabel type='dynamic' model='selinux'/>"},  # noqa: E501
         "formatdomain Security label: type 'none' turns confinement off; 'dynamic' generates a unique label per guest"),  # noqa: E501
    Case("KVM-21", {"seclabel": "<seclabel type='static' model='dac' relabel='yes'><label>+0:+0</label></seclabel>"},  # noqa: E501
         {"seclabel": "<seclabel type='static' model='dac' relabel='yes'><label>+107:+107</label></seclabel>"},  # noqa: E501
         "drvqemu POSIX users/groups: QEMU should not run as root; a per-domain DAC label overrides qemu.conf user/group"),  # noqa: E501
    Case("KVM-22", {"seclabel": "<seclabel type='static' model='selinux' relabel='yes'><label>system_u:system_r:svirt_t:s0:c1,c2</label></seclabel>"},  # noqa: E501
         {"seclabel": "<seclabel type='dynamic' model='selinux'/>"},
         "formatdomain Security label: static labels are assigned by the administrator; dynamic labels isolate each guest"),  # noqa: E501
    Case("KVM-23", {"devices": "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source></hostdev>"},  # noqa: E501
         {}, "formatdomain Host device assignment: the guest gets direct access to host hardware"),
    Case("KVM-24", {"devices": "<disk type='block' device='cdrom'><driver name='qemu' type='raw'/><source dev='/dev/sr0'/><target dev='sdb' bus='sata'/><readonly/></disk>"},  # noqa: E501
         {"devices": "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/var/lib/libvirt/images/install.iso'/><target dev='sdb' bus='sata'/><readonly/></disk>"},  # noqa: E501
         "formatdomain disks: type='block' with source dev is a host block device; an ISO file keeps the host drive away"),  # noqa: E501
    Case("KVM-25", {"devices": "<controller type='usb' index='0' model='qemu-xhci'/>"}, {"devices": _USB_NONE},  # noqa: E501
         "formatdomain Controllers: model='none' for a USB controller disables USB"),
    Case("KVM-26", {"cpu": "<cpu mode='custom' match='exact'><model fallback='forbid'>Skylake-Client</model><feature policy='require' name='vmx'/></cpu>"},  # noqa: E501
         {"cpu": "<cpu mode='custom' match='exact'><model fallback='forbid'>Skylake-Client</model><feature policy='disable' name='vmx'/></cpu>"},  # noqa: E501
         "formatdomain CPU model and topology: feature policy require/disable for vmx"),
    Case("KVM-27", {"devices": "<vsock model='virtio'><cid auto='yes'/></vsock>"}, {},
         "formatdomain Vsock: a host-guest socket channel"),
    Case("KVM-28", {"devices": "<graphics type='vnc' port='-1' autoport='yes'><listen type='address' address='0.0.0.0'/></graphics>"},  # noqa: E501
         {"devices": "<graphics type='vnc' port='-1' autoport='yes' passwd='Gu1de-Vnc-Pw'><listen type='address' address='127.0.0.1'/></graphics>"},  # noqa: E501
         "formatdomain Graphical framebuffers: passwd, listen address; qemu.conf vnc_listen defaults to 127.0.0.1"),  # noqa: E501
    Case("KVM-29", {}, {"os": _EFI_SB},
         "RHEL 9 Securing VMs: enable Secure Boot; formatdomain: firmware feature secure-boot"),
    Case("KVM-30", {}, {"devices": "<tpm model='tpm-crb'><backend type='emulator' version='2.0'><encryption secret='3a6fc6d9-7b4a-43de-8f1e-0c7f2d5b9e11'/></backend></tpm>"},  # noqa: E501
         "RHEL 9: vTPM; formatdomain TPM device: emulator backend with encrypted state"),
    Case("KVM-31", {"devices": "<interface type='network'><source network='default'/><model type='virtio'/></interface>"},  # noqa: E501
         {"devices": "<interface type='network'><source network='default'/><model type='virtio'/><filterref filter='clean-traffic'/></interface>"},  # noqa: E501
         "formatnwfilter: clean-traffic prevents MAC, IP and ARP spoofing"),
    Case("KVM-32", {"ns": " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'", "qemu": "<qemu:commandline><qemu:arg value='-no-user-config'/></qemu:commandline>"},  # noqa: E501
         {}, "drvqemu: pass-through of arbitrary qemu commands is unsupported and bypasses libvirt"),  # noqa: E501
    Case("KVM-33", {"devices": "<disk type='file' device='floppy'><source file='/var/lib/libvirt/images/boot.img'/><target dev='fda' bus='fdc'/></disk>"},  # noqa: E501
         {}, "RHEL 9: remove unneeded devices; the floppy controller was CVE-2015-3456 (VENOM)"),
    Case("KVM-34", {"devices": "<filesystem type='mount' accessmode='passthrough'><source dir='/srv/share'/><target dir='share'/></filesystem>"},  # noqa: E501
         {"devices": "<filesystem type='mount' accessmode='passthrough'><source dir='/srv/share'/><target dir='share'/><readonly/></filesystem>"},  # noqa: E501
         "formatdomain Filesystems: readonly makes the export read-only to the guest"),
]  # fmt: skip


def test_every_vm_item_has_a_case() -> None:
    """No VM item of the profile goes untested."""
    vm_items = [i.item_id for i in KVM_ITEMS if i.scope is Scope.VM]
    assert [c.item for c in CASES] == vm_items


@pytest.mark.parametrize("case", CASES, ids=[c.item for c in CASES])
def test_domain_item_follows_the_guide(tmp_path: Path, case: Case) -> None:
    """The insecure domain fails the item, the secure one passes (see ``case.says``)."""
    guide = profile_named("libvirt-kvm")
    usb = {} if "devices" in case.insecure else {"devices": _USB_NONE}
    bad = audit_one(write_domain(tmp_path, "bad", **{**usb, **case.insecure}), profile=guide)
    good = audit_one(write_domain(tmp_path, "good", **case.secure), profile=guide)
    assert item_status(bad, case.item).startswith("fail"), case.says
    assert item_status(good, case.item).startswith("pass"), case.says


def test_disk_relabel_no_fails_the_static_label_item(tmp_path: Path) -> None:
    """formatdomain: a disk source <seclabel relabel='no'/> keeps libvirt from labelling it."""
    disk = (
        "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
        "<source file='/srv/shared.img'><seclabel model='selinux' relabel='no'/></source>"
        "<target dev='vdb' bus='virtio'/></disk>"
    )
    report = audit_one(
        write_domain(tmp_path, "d", devices=disk), profile=profile_named("libvirt-kvm")
    )
    assert item_status(report, "KVM-22").startswith("fail")


def test_host_items_are_left_to_the_host_command(tmp_path: Path) -> None:
    """qemu.conf items cannot be judged from a domain: not applicable, pointing at host."""
    report = audit_one(write_domain(tmp_path, "d"), profile=profile_named("libvirt-kvm"))
    assert item_status(report, "KVM-01") == (
        "not-applicable: a host item: judged by vmguard host --profile libvirt-kvm"
    )
