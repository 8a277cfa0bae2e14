"""Declared VMware key/value rules (.vmx and OVF ``vmw:ExtraConfig``) over host-guest
channels, devices and network inspection: one row per rule (consoles, logs, memory sharing
and the TPM are in ``vmx_keys_operations``).

Data only; the engine evaluates them. Sources: vSphere Security Configuration Guide
(SCG), DISA vSphere VM STIG (VMCH-80), CIS ESXi benchmark section 8.
"""

from __future__ import annotations

from vmguard.findings import Rule, Severity, Threat
from vmguard.vmconfig.model import Platform
from vmguard.vmconfig.rules.model import (
    ESXI8_NOT_IMPLEMENTED,
    KeyRule,
    Retired,
    ValueTest,
)

_HOSTED = frozenset({Platform.WORKSTATION, Platform.FUSION})
_NONE: frozenset[Platform] = frozenset()
_NOT_ON_ESXI8 = (ESXI8_NOT_IMPLEMENTED,)

A, B, D = Threat.VM_COMMUNICATION, Threat.VM_ESCAPE, Threat.VM_MONITORING
LOW, MED, HIGH = Severity.LOW, Severity.MEDIUM, Severity.HIGH


def key_rule(  # noqa: PLR0917 (one positional field per table column)
    rule_id: str,
    keys: tuple[str, ...],
    safe: ValueTest,
    severity: Severity,
    threat: Threat,
    title: str,
    rationale: str,
    remediation: str,
    references: tuple[str, ...],
    absent_unsafe_on: frozenset[Platform] = frozenset(),
    retired: tuple[Retired, ...] = (),
    expected: str = "",
) -> KeyRule:
    """One row: the rule's metadata, its keys and what is safe (guide ids in references)."""
    info = Rule(rule_id, title, severity, threat, remediation, references, rationale=rationale)
    return KeyRule(info, keys, safe, absent_unsafe_on, retired, expected)


VMX_KEY_RULES: tuple[KeyRule, ...] = (
    key_rule(
        "vmx.isolation.copy-paste",
        ("isolation.tools.copy.disable", "isolation.tools.paste.disable"),
        ValueTest.TRUE,
        LOW,
        A,
        "Console copy and paste between guest and host is enabled",
        "A shared clipboard moves data between the guest and whoever holds the console.",
        'Set isolation.tools.copy.disable = "TRUE" and isolation.tools.paste.disable = "TRUE".',
        (
            "SCG8 vm-8.deactivate-console-copy: isolation.tools.copy.disable",
            "SCG8 vm-8.deactivate-console-paste: isolation.tools.paste.disable",
            "STIG VMCH-80-000189: isolation.tools.copy.disable",
            "STIG VMCH-80-000192: isolation.tools.paste.disable",
        ),
        _HOSTED,
    ),
    key_rule(
        "vmx.isolation.dnd",
        ("isolation.tools.dnd.disable",),
        ValueTest.TRUE,
        LOW,
        A,
        "Drag and drop between guest and host is enabled",
        "Drag and drop copies files and data across the guest/host boundary.",
        'Set isolation.tools.dnd.disable = "TRUE".',
        ("SCG8 vm-8.isolation-tools-dnd-deactivate", "STIG VMCH-80-000191"),
        _HOSTED,
    ),
    key_rule(
        "vmx.isolation.gui-options",
        ("isolation.tools.setguioptions.enable",),
        ValueTest.NOT_TRUE,
        LOW,
        A,
        "The guest may change console GUI options",
        "setGUIOptions lets the guest toggle console features such as copy and paste.",
        'Set isolation.tools.setGUIOptions.enable = "FALSE" or remove it.',
        ("SCG6.0 VM.disable-console-gui-options",),
    ),
    key_rule(
        "vmx.host-info",
        ("tools.guestlib.enablehostinfo",),
        ValueTest.NOT_TRUE,
        MED,
        A,
        "The guest can read host information",
        "Host details (hardware, versions, load) help an attacker inside the guest target the "
        "host.",
        'Set tools.guestlib.enableHostInfo = "FALSE" or remove it.',
        ("SCG8 vm-8.restrict-host-info", "STIG VMCH-80-000198"),
    ),
    key_rule(
        "vmx.device-connectable",
        ("isolation.device.connectable.disable",),
        ValueTest.TRUE,
        MED,
        A,
        "The guest can connect or disconnect virtual devices",
        "A guest user able to connect devices can attach the host's CD-ROM, NIC or USB devices.",
        'Set isolation.device.connectable.disable = "TRUE" (or remove it on ESXi, where TRUE '
        "is the default).",
        ("SCG8 vm-8.isolation-device-connectable-deactivate", "STIG VMCH-80-000197"),
        _HOSTED,
    ),
    key_rule(
        "vmx.device-edit",
        ("isolation.device.edit.disable",),
        ValueTest.TRUE,
        MED,
        A,
        "The guest can modify virtual device settings",
        "A guest user able to edit devices can change what a virtual device is connected to. "
        "ESXi 8 does not implement the parameter; Workstation and Fusion do.",
        'Set isolation.device.edit.disable = "TRUE" (Workstation, Fusion, ESXi before 8).',
        ("SCG5.5 prevent-device-interaction-edit",),
        _HOSTED,
        _NOT_ON_ESXI8,
    ),
    key_rule(
        "vmx.vix-message",
        ("isolation.tools.vixmessage.disable",),
        ValueTest.TRUE,
        LOW,
        A,
        "VIX messages from the guest are enabled",
        "The VIX channel lets guest software send commands to the VMX process.",
        'Set isolation.tools.vixMessage.disable = "TRUE".',
        ("SCG6.0 VM.disable-vix-messages",),
        _HOSTED,
        _NOT_ON_ESXI8,
    ),
    key_rule(
        "vmx.vmci-unrestricted",
        ("vmci0.unrestricted",),
        ValueTest.NOT_TRUE,
        LOW,
        A,
        "VMCI is unrestricted (VM-to-VM communication)",
        "Unrestricted VMCI lets this VM talk to other VMs on the host without the network.",
        'Set vmci0.unrestricted = "FALSE" (no effect on ESXi 5.1 and later).',
        ("SCG5.5 disable-intervm-vmci",),
        _NONE,
        _NOT_ON_ESXI8,
    ),
    key_rule(
        "vmx.floppy",
        ("floppy*.present",),
        ValueTest.NOT_TRUE,
        MED,
        B,
        "A floppy controller is present (VENOM attack surface)",
        "The emulated floppy controller is legacy code with a history of guest-to-host escapes "
        "(CVE-2015-3456).",
        'Remove the floppy drive (floppyN.present = "FALSE").',
        (
            "STIG VMCH-80-000209",
            "SCG8 vm-8.remove-unnecessary-devices",
            "CIS ESXi 8.2.1",
            "CVE-2015-3456",
        ),
    ),
    key_rule(
        "vmx.parallel",
        ("parallel*.present",),
        ValueTest.NOT_TRUE,
        MED,
        B,
        "A parallel port is present",
        "Unused legacy devices widen the attack surface of the emulator.",
        "Remove the parallel port.",
        ("STIG VMCH-80-000211", "SCG8 vm-8.remove-unnecessary-devices"),
    ),
    key_rule(
        "vmx.usb",
        ("usb.present", "ehci.present", "usb_xhci.present"),
        ValueTest.NOT_TRUE,
        MED,
        B,
        "A USB controller is present",
        "USB controllers let host devices reach the guest and add emulation attack surface.",
        "Remove USB controllers that are not needed.",
        ("STIG VMCH-80-000213", "SCG8 vm-8.remove-unnecessary-devices"),
    ),
    key_rule(
        "vmx.pci-passthrough",
        ("pcipassthru*.present",),
        ValueTest.NOT_TRUE,
        HIGH,
        B,
        "A host PCI device is passed through to the guest",
        "A passed-through device can DMA into host memory and bypasses the hypervisor's mediation.",
        "Remove PCI passthrough unless the workload requires it and the IOMMU is trusted.",
        ("SCG8 vm-8.pci-passthrough", "STIG VMCH-80-000214"),
    ),
    key_rule(
        "vmx.3d",
        ("mks.enable3d",),
        ValueTest.NOT_TRUE,
        LOW,
        B,
        "3D acceleration is enabled",
        "The 3D graphics path is a large, exposed emulation surface.",
        'Set mks.enable3d = "FALSE".',
        ("SCG8 vm-8.deactivate-non-essential-3d-features", "STIG VMCH-80-000202"),
    ),
    key_rule(
        "vmx.dvfilter",
        ("ethernet*.filter*.name",),
        ValueTest.ABSENT,
        LOW,
        D,
        "A dvfilter network inspection hook is attached",
        "A dvfilter appliance sees and may alter all of this VM's traffic.",
        "Remove ethernetN.filterN.name unless the filter is authorised.",
        ("SCG8 vm-8.dvfilter", "STIG VMCH-80-000200"),
    ),
    key_rule(
        "vmx.vmsafe",
        ("vmsafe.enable",),
        ValueTest.NOT_TRUE,
        MED,
        D,
        "VMsafe CPU/memory introspection is enabled",
        "VMsafe lets an appliance read and modify this VM's memory and CPU state.",
        "Remove vmsafe.enable unless an authorised introspection product needs it.",
        ("SCG5.5 verify-vmsafe-cpumem-enable",),
    ),
    key_rule(
        "vmx.vmsafe-agent",
        ("vmsafe.agentaddress", "vmsafe.agentport"),
        ValueTest.ABSENT,
        MED,
        D,
        "A VMsafe introspection agent address is configured",
        "The named agent receives this VM's memory and CPU state.",
        "Remove vmsafe.agentAddress and vmsafe.agentPort unless authorised.",
        ("SCG5.5 verify-vmsafe-cpumem-agentaddress", "SCG5.5 verify-vmsafe-cpumem-agentport"),
    ),
    key_rule(
        "vmx.nic-promisc",
        ("ethernet*.nopromisc", "ethernet*.noforgedsrcaddr"),
        ValueTest.TRUE,
        MED,
        D,
        "A NIC may sniff in promiscuous mode or forge its source address",
        "Promiscuous mode lets this VM read other VMs' traffic; forged source addresses let it "
        "impersonate them.",
        'Set ethernetN.noPromisc = "TRUE" and ethernetN.noForgedSrcAddr = "TRUE" (ESXi: reject '
        "promiscuous mode, forged transmits and MAC changes on the port group).",
        (
            "SCG8 esxi-8.network-reject-promiscuous-mode-standardswitch",
            "SCG8 esxi-8.network-reject-forged-transmit-standardswitch",
        ),
    ),
)
