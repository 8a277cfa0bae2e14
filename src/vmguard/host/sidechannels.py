"""Checks of what guests share below the VMM: merged memory pages (KSM), CPU side channels
the kernel reports, SMT siblings, and DMA from passed-through devices without an IOMMU.

Works on ``KernelState`` from ``HostFacts``; this module must never read /sys itself.
"""

from __future__ import annotations

from collections.abc import Iterator

from vmguard.findings import Area, Finding, Rule, Severity, Threat
from vmguard.host.facts import HostFacts
from vmguard.host.kernelstate import VULNERABILITIES

_KERNEL_DOC = "https://docs.kernel.org/admin-guide/hw-vuln/index.html"

KSM = Rule(
    "host.ksm",
    "Kernel same-page merging shares memory pages between guests",
    Severity.MEDIUM,
    Threat.GUEST_TO_GUEST,
    "Stop KSM (echo 2 > /sys/kernel/mm/ksm/run; disable ksm.service/ksmtuned) or give "
    "untrusted guests <memoryBacking><nosharepages/>: merged pages leak memory contents "
    "across guests through copy-on-write timing.",
    ("https://docs.kernel.org/admin-guide/mm/ksm.html", "CVE-2015-2877", "KVM KVM-13"),
    rationale=(
        "Merged memory pages let one guest time another's memory accesses and infer its contents "
        "(page-deduplication side channels)."
    ),
)
CPU_VULNERABLE = Rule(
    "host.cpu-vulnerable",
    "The kernel reports a CPU vulnerability without mitigation",
    Severity.HIGH,
    Threat.GUEST_TO_GUEST,
    "Update the CPU microcode and the kernel, and remove mitigations=off or the specific "
    "opt-out from the kernel command line.",
    (_KERNEL_DOC, "https://docs.kernel.org/admin-guide/kernel-parameters.html", "KVM KVM-13"),
    rationale=(
        "An unmitigated CPU vulnerability lets a guest read memory of the host or of other guests "
        "through speculative-execution side channels."
    ),
)
SMT = Rule(
    "host.smt",
    "SMT (hyper-threading) is on while the host runs guests",
    Severity.MEDIUM,
    Threat.GUEST_TO_GUEST,
    "On hosts that run untrusted guests turn SMT off (nosmt, or echo off > "
    '/sys/devices/system/cpu/smt/control), or set sched_core = "vcpus" in qemu.conf so '
    "different guests never share a core.",
    (
        f"{_KERNEL_DOC} (L1TF, MDS)",
        "https://docs.kernel.org/admin-guide/hw-vuln/core-scheduling.html",
    ),
    rationale=(
        "Sibling hyper-threads share caches and buffers, so a guest on one thread can observe "
        "another guest's secrets on its sibling (L1TF, MDS)."
    ),
)
IOMMU = Rule(
    "host.iommu-off-passthrough",
    "Devices are passed through to guests without an active IOMMU",
    Severity.HIGH,
    Threat.VM_ESCAPE,
    "Enable VT-d/AMD-Vi in the firmware and intel_iommu=on (or amd_iommu=on) on the "
    "kernel command line; without an IOMMU a passed-through device can DMA into all host "
    "memory.",
    ("https://docs.kernel.org/driver-api/vfio.html", "KVM KVM-14"),
    rationale=(
        "Without an IOMMU a passed-through device can DMA into any host memory, so the guest that "
        "drives it controls the host."
    ),
)
RULES = (KSM, CPU_VULNERABLE, SMT, IOMMU)
_CORE_SCHEDULING = ("vcpus", "emulator", "full")


def _ksm(facts: HostFacts) -> Iterator[Finding]:
    kernel = facts.kernel
    if kernel.ksm_run != 1:
        return
    sharing = [d.name for d in facts.definitions.domains if d.shares_pages]
    evidence = f"ksm/run = 1, pages_sharing = {kernel.ksm_pages_sharing}"
    if facts.definitions.domains:
        evidence += f"; domains without nosharepages: {', '.join(sharing) or 'none'}"
    severity = Severity.LOW if facts.definitions.domains and not sharing else None
    yield KSM.finding("/sys/kernel/mm/ksm/run", evidence, area=Area.HOST, severity=severity)


def _vulnerabilities(facts: HostFacts) -> Iterator[Finding]:
    off = "mitigations=off" in facts.kernel.cmdline.split()
    for name, text in facts.kernel.vulnerabilities:
        lowered = text.lower()
        if lowered.startswith("vulnerable"):
            severity = None
        elif lowered.startswith("unknown"):
            severity = Severity.LOW
        else:
            continue
        evidence = f"{name}: {text}" + ("; kernel booted with mitigations=off" if off else "")
        yield CPU_VULNERABLE.finding(
            f"{VULNERABILITIES}/{name}", evidence, area=Area.HOST, severity=severity
        )


def _smt(facts: HostFacts) -> Iterator[Finding]:
    kernel = facts.kernel
    if not facts.hypervisor_installed or not (kernel.smt_active or kernel.smt_control == "on"):
        return
    smt_bugs = [n for n, text in kernel.vulnerabilities if "smt vulnerable" in text.lower()]
    core = facts.qemu_conf.text("sched_core") if facts.qemu_conf else None
    evidence = f"smt/control = {kernel.smt_control}, smt/active = {int(bool(kernel.smt_active))}"
    severity = None
    if smt_bugs:
        evidence += f"; the kernel reports SMT vulnerable for {', '.join(smt_bugs)}"
        severity = Severity.HIGH
    if core in _CORE_SCHEDULING:
        evidence += f'; qemu.conf sched_core = "{core}" keeps guests on separate cores'
        severity = Severity.LOW
    yield SMT.finding(
        "/sys/devices/system/cpu/smt/control", evidence, area=Area.HOST, severity=severity
    )


def _iommu(facts: HostFacts) -> Iterator[Finding]:
    kernel = facts.kernel
    passthrough = [
        f"{d.name} ({d.hostdevs} hostdev)" for d in facts.definitions.domains if d.hostdevs
    ]
    passthrough += [f"vfio-pci {address}" for address in kernel.vfio_devices]
    if not passthrough or not kernel.sysfs or kernel.iommu_groups or kernel.iommu_units:
        return
    yield IOMMU.finding(
        "/sys/kernel/iommu_groups",
        f"no IOMMU groups; passed through: {', '.join(passthrough[:10])}",
        area=Area.HOST,
    )


class SideChannelsCheck:
    """Memory sharing, CPU side channels, SMT and IOMMU: how one guest reads another.

    KSM merges identical pages across guests, so page-fault timing reveals another guest's
    memory; unmitigated CPU bugs and shared SMT siblings leak it through caches and buffers;
    without an IOMMU a passed-through device can read and write all of the host's memory.
    """

    rules: tuple[Rule, ...] = RULES

    def check(self, facts: HostFacts) -> Iterator[Finding]:
        """Findings from the kernel's own reports."""
        yield from _ksm(facts)
        yield from _vulnerabilities(facts)
        yield from _smt(facts)
        yield from _iommu(facts)
