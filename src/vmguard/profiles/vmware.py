"""The two vSphere 8 VM guides as data: the DISA ESXi 8 VM STIG (VMCH-80) and the VM
controls of the VMware vSphere 8 Security Configuration Guide.

Item ids and titles are the guides' own (STIG ids from DISA's vSphere 8 STIG as published
in vmware/dod-compliance-and-automation; SCG ids from the SCG 8 controls CSV, component
"Virtual Machine"). Which rule decides each item is in the rules' references.
"""

# ruff: noqa: E501 (one guide item per line: the table reads like the guide)
from __future__ import annotations

from vmguard.profiles.model import GuideItem, Profile
from vmguard.vmconfig.model import ConfigFormat, Platform

_VMWARE = frozenset({ConfigFormat.VMX, ConfigFormat.OVF})
_ESXI = frozenset({Platform.ESXI})

STIG_ITEMS = (
    GuideItem("VMCH-80-000189", "VMs must have copy operations disabled."),
    GuideItem("VMCH-80-000191", "VMs must have drag and drop operations disabled."),
    GuideItem("VMCH-80-000192", "VMs must have paste operations disabled."),
    GuideItem("VMCH-80-000193", "VMs must have virtual disk shrinking disabled."),
    GuideItem("VMCH-80-000194", "VMs must have virtual disk wiping disabled."),
    GuideItem("VMCH-80-000195", "VMs must limit console sharing."),
    GuideItem("VMCH-80-000196", "VMs must limit informational messages from the VM to the VMX file."),
    GuideItem("VMCH-80-000197", "VMs must prevent unauthorized removal, connection, and modification of devices."),
    GuideItem("VMCH-80-000198", "VMs must not be able to obtain host information from the hypervisor."),
    GuideItem("VMCH-80-000199", "VMs must disable inter-VM transparent page sharing (sched.mem.pshare.salt)."),
    GuideItem("VMCH-80-000200", "VMs must limit access through the dvfilter network API."),
    GuideItem("VMCH-80-000201", "VMs must be configured to lock when the last console connection is closed."),
    GuideItem("VMCH-80-000202", "VMs must disable 3D features when not required."),
    GuideItem("VMCH-80-000203", "VMs must enable encryption for vMotion."),
    GuideItem("VMCH-80-000204", "VMs must enable encryption for Fault Tolerance."),
    GuideItem("VMCH-80-000205", "VMs must configure log size."),
    GuideItem("VMCH-80-000206", "VMs must configure log retention."),
    GuideItem("VMCH-80-000207", "VMs must enable logging."),
    GuideItem("VMCH-80-000208", "VMs must not use independent, nonpersistent disks."),
    GuideItem("VMCH-80-000209", "VMs must remove unneeded floppy devices."),
    GuideItem("VMCH-80-000210", "VMs must remove unneeded CD/DVD devices."),
    GuideItem("VMCH-80-000211", "VMs must remove unneeded parallel devices."),
    GuideItem("VMCH-80-000212", "VMs must remove unneeded serial devices."),
    GuideItem("VMCH-80-000213", "VMs must remove unneeded USB devices."),
    GuideItem("VMCH-80-000214", "VMs must disable DirectPath I/O (PCI passthrough) when not required."),
)  # fmt: skip

SCG_ITEMS = (
    GuideItem("vm-8.deactivate-console-copy", "Virtual machines must have console copy operations deactivated."),
    GuideItem("vm-8.deactivate-console-paste", "Virtual machines must have console paste operations deactivated."),
    GuideItem("vm-8.deactivate-disk-shrinking-shrink", "Virtual machines must have virtual disk shrinking operations deactivated."),
    GuideItem("vm-8.deactivate-disk-shrinking-wiper", "Virtual machines must have virtual disk wiping operations deactivated."),
    GuideItem("vm-8.deactivate-non-essential-3d-features", "Virtual machines must have 3D graphics features deactivated when not required."),
    GuideItem("vm-8.dvfilter", 'Virtual machines must limit access through the "dvfilter" network API.'),
    GuideItem("vm-8.efi-boot-types", "Virtual machines must prevent booting from unauthorized sources."),
    GuideItem("vm-8.ft-encrypted", "Virtual machines must require encryption for Fault Tolerance."),
    GuideItem("vm-8.isolation-device-connectable-deactivate", "Virtual machines must prevent unauthorized removal, connection and modification of devices."),
    GuideItem("vm-8.isolation-tools-dnd-deactivate", "Virtual machines must have console drag and drop operations deactivated."),
    GuideItem("vm-8.limit-console-connections", "Virtual machines must limit console sharing."),
    GuideItem("vm-8.limit-setinfo-size", "Virtual machines must limit informational messages from the virtual machine to the VMX file."),
    GuideItem("vm-8.log-enable", "Virtual machines must enable diagnostic logging."),
    GuideItem("vm-8.log-retention", "Virtual machines must limit the number of retained diagnostic logs."),
    GuideItem("vm-8.log-rotation-size", "Virtual machines must limit the size of diagnostic logs."),
    GuideItem("vm-8.pci-passthrough", "Virtual machines must limit PCI device passthrough functionality."),
    GuideItem("vm-8.remove-unnecessary-devices", "Virtual machines must remove unnecessary virtual hardware."),
    GuideItem("vm-8.restrict-host-info", "Virtual machines must not be able to obtain host information from the hypervisor."),
    GuideItem("vm-8.transparentpagesharing-inter-vm-enabled", "Virtual machines must restrict sharing of memory pages between VMs."),
    GuideItem("vm-8.vmotion-encrypted", "Virtual machines must require encryption for vMotion."),
    GuideItem("vm-8.vmrc-lock", "Virtual machines must be configured to lock when the last console connection is closed."),
)  # fmt: skip

ESXI8_STIG = Profile(
    name="esxi8-stig",
    guide="DISA VMware vSphere 8.0 Virtual Machine STIG (VMCH-80)",
    tag="STIG",
    items=STIG_ITEMS,
    formats=_VMWARE,
    platforms=_ESXI,
    platform=Platform.ESXI,
    release=8,
    id_prefix="VMCH-80-",
)
VSPHERE8_SCG = Profile(
    name="vsphere8-scg",
    guide="VMware vSphere 8 Security Configuration Guide, virtual machine controls (8.0.3)",
    tag="SCG8",
    items=SCG_ITEMS,
    formats=_VMWARE,
    platforms=_ESXI,
    platform=Platform.ESXI,
    release=8,
    id_prefix="vm-8.",
)
