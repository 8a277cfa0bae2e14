"""Declared VMware key/value rules over consoles, logs, memory sharing and the virtual TPM
(.vmx and OVF ``vmw:ExtraConfig``): one row per rule.

Data only; the engine evaluates them. Sources: vSphere 8 Security Configuration Guide (SCG),
DISA vSphere 8 VM STIG (VMCH-80).
"""

from __future__ import annotations

from vmguard.findings import Severity, Threat
from vmguard.vmconfig.model import Platform
from vmguard.vmconfig.rules.model import ESXI8_NOT_IMPLEMENTED, KeyRule, ValueTest
from vmguard.vmconfig.rules.vmx_keys import key_rule

_ALL = frozenset({Platform.ESXI, Platform.WORKSTATION, Platform.FUSION})
_HOSTED = frozenset({Platform.WORKSTATION, Platform.FUSION})
_NONE: frozenset[Platform] = frozenset()
_NOT_ON_ESXI8 = (ESXI8_NOT_IMPLEMENTED,)
C, E, F = Threat.HOST_MONITORING, Threat.DENIAL_OF_SERVICE, Threat.GUEST_TO_GUEST
H = Threat.HYPERVISOR_MODIFICATION
LOW, MED, HIGH = Severity.LOW, Severity.MEDIUM, Severity.HIGH

VMX_OPERATION_KEY_RULES: tuple[KeyRule, ...] = (
    key_rule(
        "vmx.vnc",
        ("remotedisplay.vnc.enabled",),
        ValueTest.NOT_TRUE,
        HIGH,
        C,
        "The built-in VNC server is enabled",
        "A VNC console gives whoever reaches the port the screen and keyboard of the VM.",
        'Set RemoteDisplay.vnc.enabled = "FALSE"; use the product console instead.',
        ("SCG6.7 VM.minimize-console-VNC-use",),
        _NONE,
        _NOT_ON_ESXI8,
    ),
    key_rule(
        "vmx.console-autolock",
        ("tools.guest.desktop.autolock",),
        ValueTest.TRUE,
        MED,
        C,
        "The guest session is not locked when the console disconnects",
        "The next console user inherits the previous user's logged-in session (the "
        "installation default is FALSE).",
        'Set tools.guest.desktop.autolock = "TRUE".',
        ("SCG8 vm-8.vmrc-lock", "STIG VMCH-80-000201"),
        _ALL,
    ),
    key_rule(
        "vmx.disk-shrink",
        ("isolation.tools.diskshrink.disable", "isolation.tools.diskwiper.disable"),
        ValueTest.TRUE,
        MED,
        E,
        "The guest may shrink or wipe virtual disks",
        "Repeated disk shrinking by a guest user makes the virtual disk unavailable (DoS).",
        'Set isolation.tools.diskShrink.disable = "TRUE" and isolation.tools.diskWiper.disable '
        '= "TRUE".',
        (
            "SCG8 vm-8.deactivate-disk-shrinking-shrink: isolation.tools.diskShrink.disable",
            "SCG8 vm-8.deactivate-disk-shrinking-wiper: isolation.tools.diskWiper.disable",
            "STIG VMCH-80-000193: isolation.tools.diskShrink.disable",
            "STIG VMCH-80-000194: isolation.tools.diskWiper.disable",
        ),
        _HOSTED,
    ),
    key_rule(
        "vmx.tps-salt",
        ("sched.mem.pshare.salt",),
        ValueTest.ABSENT,
        LOW,
        F,
        "The VM opts into inter-VM transparent page sharing",
        "Sharing identical memory pages with other VMs enables cross-VM side channels.",
        "Remove sched.mem.pshare.salt (ESXi: keep Mem.ShareForceSalting = 2).",
        ("SCG8 vm-8.transparentpagesharing-inter-vm-enabled", "STIG VMCH-80-000199"),
    ),
    key_rule(
        "vmx.vtpm",
        ("vtpm.present",),
        ValueTest.TRUE,
        LOW,
        H,
        "The VM has no virtual TPM",
        "Without a TPM the guest cannot measure its boot or seal keys to a trusted state.",
        'Add a virtual TPM (vtpm.present = "TRUE"; requires VM encryption).',
        ("SCG repo features-capabilities/encryption/virtual-tpm",),
        _ALL,
    ),
    key_rule(
        "vmx.log-rotation",
        ("log.rotatesize",),
        ValueTest.EQUALS,
        LOW,
        E,
        "VM log rotation size is not the guides' 2048000 bytes",
        "Without a rotation size a long-running VM's log grows without bound (it only rotates "
        "on power events and vMotion) and can fill the datastore.",
        'Set log.rotateSize = "2048000" or remove it.',
        ("SCG8 vm-8.log-rotation-size", "STIG VMCH-80-000205"),
        expected="2048000",
    ),
    key_rule(
        "vmx.log-retention",
        ("log.keepold",),
        ValueTest.EQUALS,
        LOW,
        E,
        "The number of kept VM logs is not the guides' 10",
        "Keeping more old logs than needed fills the datastore; keeping fewer loses the "
        "history an investigation needs.",
        'Set log.keepOld = "10" or remove it.',
        ("SCG8 vm-8.log-retention", "STIG VMCH-80-000206"),
        expected="10",
    ),
)
