"""libvirt domain rules over what QEMU runs as and what the guest can reach on the host:
a per-VM DAC label of root, USB controllers, nested virtualization.

Each function's docstring is its rationale. Labels are compared as text; no user or group
is looked up on the host.
"""

from __future__ import annotations

from collections.abc import Iterator

from vmguard.findings import Severity, Threat
from vmguard.vmconfig.model import ConfigFormat, VmSpec
from vmguard.vmconfig.rules.model import AuditContext, Hit, VmCheck, vm_rule

_LIBVIRT = (ConfigFormat.LIBVIRT,)
_DOCS = "libvirt formatdomain.rst"
_ROOT_IDS = ("root", "+0", "0")
_NESTED_FLAGS = ("vmx", "svm")


def _is_root_label(label: str) -> bool:
    """``user:group`` of a DAC label names root (by name or ``+0``)."""
    user = label.strip().split(":", 1)[0].strip()
    return user in _ROOT_IDS


@vm_rule(
    "libvirt.dac-root",
    title="The domain runs QEMU as root (static DAC label)",
    severity=Severity.HIGH,
    threat=Threat.VM_ESCAPE,
    formats=_LIBVIRT,
    remediation="Remove the <seclabel type='static' model='dac'> or give it an unprivileged "
    "user (the qemu.conf user, e.g. +107:+107).",
    references=(
        "KVM KVM-21",
        f"{_DOCS}: Security label",
        "https://libvirt.org/drvqemu.html#posix-users-groups",
    ),
)
def dac_root(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A per-domain static DAC label overrides qemu.conf's user and group: a label of root
    runs this guest's QEMU as root however hardened the host's qemu.conf is, so a QEMU
    escape owns the host."""
    for label in [] if spec.root is None else spec.root.findall("./seclabel"):
        if label.get("model") != "dac" or label.get("type") != "static":
            continue
        text = (label.findtext("label") or "").strip()
        if _is_root_label(text):
            yield Hit("/domain/seclabel[@model='dac']/label", f"label {text!r}")


@vm_rule(
    "libvirt.usb",
    title="The domain has a USB controller",
    severity=Severity.LOW,
    threat=Threat.VM_ESCAPE,
    formats=_LIBVIRT,
    remediation="Add <controller type='usb' model='none'/> when the guest needs no USB "
    "(use a virtio tablet/keyboard instead).",
    references=(
        "KVM KVM-25",
        f"{_DOCS}: Controllers (USB companion, model='none')",
    ),
)
def usb(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """USB controllers let host or redirected USB devices reach the guest and add an
    emulation surface; libvirt adds one to x86 guests unless told model='none' (the VMware
    and VirtualBox rules flag their USB controllers the same way)."""
    if spec.root is None:
        return
    controllers = spec.root.findall("./devices/controller[@type='usb']")
    for controller in controllers:
        model = controller.get("model", "")
        if model != "none":
            yield Hit(
                "/domain/devices/controller[@type='usb']",
                f"model={model!r}" if model else "model not set (the machine's default)",
            )
    kind = spec.root.find("./os/type")
    if not controllers and kind is not None and (kind.text or "").strip() == "hvm":
        yield Hit(
            "/domain/devices/controller[@type='usb']",
            "absent: libvirt adds the machine's default USB controller",
        )


@vm_rule(
    "libvirt.nested",
    title="Nested virtualization is exposed to the guest",
    severity=Severity.MEDIUM,
    threat=Threat.VM_ESCAPE,
    formats=_LIBVIRT,
    remediation="Disable the vmx/svm CPU feature (<feature policy='disable' name='vmx'/>) "
    "and use a named CPU model rather than host-passthrough when nesting is not needed.",
    references=(
        "KVM KVM-26",
        f"{_DOCS}: CPU model and topology",
    ),
)
def nested(spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    """A guest hypervisor drives the host's nested VMX/SVM emulation, a complex and
    escape-prone part of KVM (the VirtualBox rule flags NestedHWVirt the same way)."""
    cpu = None if spec.root is None else spec.root.find("./cpu")
    if cpu is None:
        return
    for feature in cpu.findall("feature"):
        name = feature.get("name", "")
        if name in _NESTED_FLAGS and feature.get("policy") in ("require", "force", "optional"):
            yield Hit(f"/domain/cpu/feature[@name='{name}']", f"policy={feature.get('policy')!r}")
            return
    disabled = any(
        f.get("name") in _NESTED_FLAGS and f.get("policy") in ("disable", "forbid")
        for f in cpu.findall("feature")
    )
    if cpu.get("mode") in ("host-passthrough", "maximum") and not disabled:
        yield Hit(
            "/domain/cpu/@mode",
            f"mode={cpu.get('mode')!r} passes the host's vmx/svm flag",
            host_dependent="nesting also needs the kvm_intel/kvm_amd nested=1 module option",
            severity=Severity.LOW,
        )


LIBVIRT_SURFACE_CHECKS: tuple[VmCheck, ...] = (dac_root, usb, nested)
