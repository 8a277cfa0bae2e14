"""Declared VirtualBox rules: an element or attribute value in the machine settings that
must not appear.

Data only. Paths are ElementTree XPath relative to ``<Machine>`` (the current state, not
snapshots). Source: VirtualBox ``src/VBox/Main/xml/VirtualBox-settings.xsd`` (VX).
"""

from __future__ import annotations

from vmguard.findings import Severity, Threat
from vmguard.vmconfig.model import ConfigFormat
from vmguard.vmconfig.rules.model import ElementRule, ElementRuleTable

_VBOX = frozenset({ConfigFormat.VBOX})
_XSD = "VirtualBox-settings.xsd"
_NIC = "./Hardware/Network/Adapter[@enabled='true']"


_rule = ElementRuleTable(_VBOX, _XSD)


VBOX_ELEMENT_RULES: tuple[ElementRule, ...] = (
    _rule(
        "vbox.promisc",
        (_NIC,),
        Severity.HIGH,
        Threat.VM_MONITORING,
        "A NIC may run in promiscuous mode",
        "A promiscuous adapter sees the traffic of other machines on the same network.",
        "Set promiscuousModePolicy to Deny (the default).",
        "TNetworkAdapter",
        "promiscuousModePolicy",
        ("allownetwork", "allowall"),
        guides=("VBOX VBOX-16",),
    ),
    _rule(
        "vbox.bridged",
        (f"{_NIC}/BridgedInterface", f"{_NIC}/GenericInterface"),
        Severity.INFO,
        Threat.VM_MONITORING,
        "A NIC is bridged to a host interface",
        "A bridged adapter shares the physical segment (and its traffic) with other machines.",
        "Use NAT, host-only or an internal network unless bridging is required.",
        "TNetworkAdapter",
    ),
    _rule(
        "vbox.pagefusion",
        ("./Hardware/Memory[@PageFusion='true']",),
        Severity.MEDIUM,
        Threat.GUEST_TO_GUEST,
        "Page Fusion shares identical memory pages between VMs",
        "Page deduplication across VMs enables memory side channels between guests.",
        "Set PageFusion='false'.",
        "TMemory",
    ),
    _rule(
        "vbox.passthrough",
        (
            "./Hardware/HostPci/Devices/Device",
            "./Hardware/USB/DeviceFilters/DeviceFilter[@active='true']",
            "./Hardware/StorageControllers/StorageController/AttachedDevice[@passthrough='true']",
        ),
        Severity.HIGH,
        Threat.VM_ESCAPE,
        "A host device is passed through to the guest",
        "PCI passthrough, USB filters and drive passthrough hand host hardware to the guest.",
        "Remove HostPci devices, active USB device filters and drive passthrough.",
        "THostPciDevice, TUSBDeviceFilter, TAttachedDevice",
        guides=("VBOX VBOX-14",),
    ),
    _rule(
        "vbox.shared-disk",
        ("./MediaRegistry/HardDisks/HardDisk", "./MediaRegistry/HardDisks/HardDisk//HardDisk"),
        Severity.MEDIUM,
        Threat.VM_MODIFICATION,
        "A disk is shareable between VMs or escapes snapshots (writethrough)",
        "A Shareable disk can be written by several VMs; a Writethrough disk changes outside "
        "snapshots, so tampering cannot be rolled back.",
        "Use type Normal, or Immutable/MultiAttach for shared read-only bases.",
        "TMediumType",
        "type",
        ("shareable", "writethrough"),
    ),
    _rule(
        "vbox.capture",
        (
            "./Hardware/VideoCapture[@enabled='true']",
            "./Hardware/VideoRecording[@enabled='true']",
            "./Hardware/AudioAdapter[@enabledIn='true']",
        ),
        Severity.LOW,
        Threat.VM_COMMUNICATION,
        "Screen recording or host audio input is on",
        "Recording writes the guest screen to a host file; audio input passes the host "
        "microphone to the guest.",
        "Disable video recording and audio input unless needed.",
        "TVideoCapture, TAudioAdapter",
        guides=("VBOX VBOX-13",),
    ),
)
