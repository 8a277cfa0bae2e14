"""Declared libvirt domain rules: an element (or an attribute value) that must not appear.

Data only. Paths are ElementTree XPath relative to ``<domain>``, namespaces stripped
(``qemu:commandline`` is ``commandline``). Source: libvirt docs/formatdomain.rst.
"""

from __future__ import annotations

from vmguard.findings import Severity, Threat
from vmguard.vmconfig.model import ConfigFormat
from vmguard.vmconfig.rules.model import ElementRule, ElementRuleTable

_LIBVIRT = frozenset({ConfigFormat.LIBVIRT})
_DOCS = "libvirt formatdomain.rst"


_rule = ElementRuleTable(_LIBVIRT, _DOCS)


LIBVIRT_ELEMENT_RULES: tuple[ElementRule, ...] = (
    _rule(
        "libvirt.qemu-cmdline",
        ("./commandline",),
        Severity.MEDIUM,
        Threat.VM_ESCAPE,
        "Raw QEMU command-line arguments bypass libvirt",
        "qemu:commandline passes arguments libvirt does not understand, so its sandboxing and "
        "labelling cannot account for them.",
        "Remove <qemu:commandline>; use supported domain XML instead.",
        "QEMU command-line passthrough",
        guides=("KVM KVM-32",),
    ),
    _rule(
        "libvirt.hostdev",
        ("./devices/hostdev",),
        Severity.HIGH,
        Threat.VM_ESCAPE,
        "A host device is assigned to the guest",
        "An assigned PCI/USB/SCSI/mdev device gives the guest direct access to host hardware "
        "and, without an IOMMU, to host memory through DMA.",
        "Remove host device assignment, or use VFIO with a trusted IOMMU group.",
        "Host device assignment",
        guides=("KVM KVM-23",),
    ),
    _rule(
        "libvirt.disk-rawio",
        (
            "./devices/disk[@rawio='yes']",
            "./devices/disk[@sgio='unfiltered']",
            "./devices/hostdev[@rawio='yes']",
            "./devices/hostdev[@sgio='unfiltered']",
        ),
        Severity.HIGH,
        Threat.VM_ESCAPE,
        "A disk allows raw or unfiltered SCSI I/O to the host device",
        "rawio grants the QEMU process CAP_SYS_RAWIO; sgio='unfiltered' passes any SCSI "
        "command, including firmware-rewriting vendor commands, to the host device.",
        "Remove rawio and use sgio='filtered' (the default).",
        "Hard drives, floppy disks, CDROMs",
    ),
    _rule(
        "libvirt.input-evdev",
        ("./devices/input",),
        Severity.MEDIUM,
        Threat.VM_COMMUNICATION,
        "A host input device is passed to the guest",
        "evdev/passthrough input gives the guest the host's keyboard or mouse, and with it "
        "what the host user types.",
        "Remove evdev and passthrough input devices.",
        "Input devices",
        "type",
        ("evdev", "passthrough"),
    ),
    _rule(
        "libvirt.memory-exposure",
        ("./memory[@dumpCore='on']", "./memoryBacking/source[@type='file']"),
        Severity.LOW,
        Threat.HOST_MONITORING,
        "Guest memory lands in host core dumps or a host file",
        "A QEMU core dump, or a file backing guest memory, holds the guest's memory (keys "
        "included) for anyone who can read it on the host.",
        "Set dumpCore='off' on <memory> and use anonymous memory backing.",
        "Memory Allocation; Memory Backing",
    ),
    _rule(
        "libvirt.shared-mem",
        ("./memoryBacking/access[@mode='shared']", "./cpu/numa/cell[@memAccess='shared']"),
        Severity.LOW,
        Threat.GUEST_TO_GUEST,
        "Guest memory is mapped shared",
        "Shared guest memory can be mapped by other processes (vhost-user back ends, other "
        "guests), widening who can read or change it.",
        "Use private memory access unless a vhost-user/virtiofs back end needs it.",
        "Memory Backing",
    ),
    _rule(
        "libvirt.disk-shareable",
        ("./devices/disk/shareable", "./devices/disk/transient[@shareBacking='yes']"),
        Severity.MEDIUM,
        Threat.GUEST_TO_GUEST,
        "A disk is shareable between domains",
        "A disk attached to several guests lets one guest read and change another's data.",
        "Remove <shareable/> unless a cluster filesystem needs it, and justify it.",
        "Hard drives, floppy disks, CDROMs",
    ),
    _rule(
        "libvirt.trust-rx",
        ("./devices/interface",),
        Severity.MEDIUM,
        Threat.VM_MONITORING,
        "The host trusts the guest's receive filters",
        "trustGuestRxFilters lets the guest change its MAC and multicast filters on the host, "
        "so it can receive traffic meant for others.",
        "Remove trustGuestRxFilters='yes' (the default is no).",
        "Network interfaces",
        "trustGuestRxFilters",
        ("yes",),
    ),
    _rule(
        "libvirt.direct-vf",
        ("./devices/interface",),
        Severity.MEDIUM,
        Threat.VM_MONITORING,
        "A NIC bypasses host filtering (macvtap or SR-IOV VF)",
        "Direct and hostdev interfaces skip the host bridge, so nwfilter anti-spoofing rules "
        "do not apply.",
        "Use a bridge or network interface with a clean-traffic filter.",
        "Network interfaces",
        "type",
        ("direct", "hostdev"),
    ),
    _rule(
        "libvirt.vsock",
        ("./devices/vsock",),
        Severity.LOW,
        Threat.VM_COMMUNICATION,
        "A virtio vsock channel connects the guest to host sockets",
        "AF_VSOCK lets guest processes reach services listening on the host without the "
        "network and its filters (the VMware VMCI and VirtualBox host-guest channels' "
        "equivalent).",
        "Remove <vsock> unless a host agent needs it, and firewall what listens on the host.",
        "Vsock",
        guides=("KVM KVM-27",),
    ),
    _rule(
        "libvirt.cdrom-host",
        ("./devices/disk[@device='cdrom'][@type='block']",),
        Severity.MEDIUM,
        Threat.VM_ESCAPE,
        "A host CD/DVD drive is passed to the guest",
        "A host optical drive (/dev/sr0) gives the guest whatever disc is in the host and "
        "raw access to the host's device.",
        "Attach an ISO image file (type='file') instead of the host drive, or remove it.",
        "Hard drives, floppy disks, CDROMs",
        guides=("KVM KVM-24",),
    ),
    _rule(
        "libvirt.static-label",
        (
            "./seclabel[@type='static'][@model='selinux']",
            "./seclabel[@type='static'][@model='apparmor']",
            "./devices/disk/source/seclabel[@relabel='no']",
            "./devices/filesystem/source/seclabel[@relabel='no']",
        ),
        Severity.MEDIUM,
        Threat.VM_ESCAPE,
        "A fixed MAC label or unlabelled disk weakens sVirt isolation",
        "With a static label every guest given the same label can reach the others' files, "
        "and relabel='no' leaves a disk with a label other guests may share.",
        "Use <seclabel type='dynamic' model='selinux'/> (or apparmor) and let libvirt "
        "relabel disks.",
        "Security label",
        guides=("KVM KVM-22",),
    ),
)
