"""Judge every item of a profile from a run's findings: pass, fail, not applicable, manual.

Compliance is judged from the rules' findings before any policy file is applied: a waiver
or a disabled rule does not make a configuration comply. This module never reads a file;
it sees parsed definitions (``VmSpec``), host facts and findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from vmguard.findings import Finding
from vmguard.host.facts import HostFacts
from vmguard.profiles.catalogue import deciders
from vmguard.profiles.model import (
    Compliance,
    Decider,
    GuideItem,
    ItemResult,
    ItemStatus,
    Profile,
    Scope,
)
from vmguard.vmconfig.engine import judges
from vmguard.vmconfig.model import VmSpec
from vmguard.vmconfig.rules.catalogue import builtin_rules
from vmguard.vmconfig.rules.model import ConfigRule

MAX_REASON = 400


@cache
def _vm_rules() -> dict[str, ConfigRule]:
    return {rule.info.rule_id: rule for rule in builtin_rules()}


def _own_evidence(finding: Finding) -> str:
    """The evidence without the engine's ``VM 'name': `` prefix (a VM's name must not match
    a decider's key)."""
    prefix = f"VM {finding.subject!r}: "
    return finding.evidence.removeprefix(prefix) if finding.subject else finding.evidence


def _failing(findings: Sequence[Finding], rules: tuple[Decider, ...], subject: str) -> str:
    parts = [
        f"{f.rule_id}: {_own_evidence(f)}"
        for f in findings
        if f.subject in (None, subject)
        and any(d.decides(f.rule_id, _own_evidence(f)) for d in rules)
    ]
    text = "; ".join(parts)
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def _vm_scope_reason(profile: Profile, spec: VmSpec) -> str:
    if spec.format not in profile.formats:
        return f"the definition is {spec.format.value}; the guide covers " + ", ".join(
            sorted(f.value for f in profile.formats)
        )
    if spec.platform is not None and spec.platform not in profile.platforms:
        return f"a {spec.platform.value} VM; the guide covers " + ", ".join(
            sorted(p.value for p in profile.platforms)
        )
    return ""


def _vm_item(
    profile: Profile, item: GuideItem, spec: VmSpec, findings: Sequence[Finding]
) -> ItemResult:
    rules = deciders(profile).get(item.item_id, ())
    ids = tuple(dict.fromkeys(d.rule_id for d in rules))

    def result(status: ItemStatus, reason: str) -> ItemResult:
        return ItemResult(item.item_id, item.title, spec.name, status, reason, ids)

    if item.scope is Scope.HOST:
        return result(
            ItemStatus.NOT_APPLICABLE,
            f"a host item: judged by vmguard host --profile {profile.name}",
        )
    out_of_scope = _vm_scope_reason(profile, spec)
    if out_of_scope:
        return result(ItemStatus.NOT_APPLICABLE, out_of_scope)
    if item.manual:
        return result(ItemStatus.MANUAL, item.manual)
    failing = _failing(findings, rules, spec.name)
    if failing:
        return result(ItemStatus.FAIL, failing)
    catalogue = _vm_rules()
    if not any(judges(catalogue[rule_id], spec) for rule_id in ids if rule_id in catalogue):
        return result(
            ItemStatus.MANUAL,
            f"a {spec.format.value} definition does not carry this setting; check the deployed VM",
        )
    return result(ItemStatus.PASS, "no finding from " + ", ".join(ids))


def vm_compliance(
    profile: Profile, specs: Sequence[VmSpec], findings: Sequence[Finding]
) -> Compliance:
    """Every item for every VM of one definition file."""
    results = [_vm_item(profile, item, spec, findings) for spec in specs for item in profile.items]
    return Compliance(profile.name, profile.guide, tuple(results))


def _host_sources(facts: HostFacts, rule_id: str) -> str:
    """Empty when the host has what ``rule_id`` reads; otherwise what is missing."""
    if rule_id.startswith("qemuconf.") and facts.qemu_conf is None:
        return "no /etc/libvirt/qemu.conf"
    if rule_id.startswith("libvirtd.") and not facts.daemon_confs:
        return "no libvirt daemon configuration (libvirtd.conf, virtqemud.conf)"
    if not facts.hypervisor_installed:
        return "no QEMU/libvirt installation"
    return ""


def host_compliance(profile: Profile, facts: HostFacts, findings: Sequence[Finding]) -> Compliance:
    """Every item for the host whose facts were gathered."""
    results: list[ItemResult] = []
    for item in profile.items:
        rules = deciders(profile).get(item.item_id, ())
        ids = tuple(dict.fromkeys(d.rule_id for d in rules))
        status, reason = ItemStatus.PASS, "no finding from " + ", ".join(ids)
        missing = [m for rule_id in ids if (m := _host_sources(facts, rule_id))]
        failing = _failing(findings, rules, facts.root)
        if item.scope is Scope.VM:
            status = ItemStatus.NOT_APPLICABLE
            reason = f"a VM item: judged by vmguard audit --profile {profile.name}"
        elif item.manual:
            status, reason = ItemStatus.MANUAL, item.manual
        elif failing:
            status, reason = ItemStatus.FAIL, failing
        elif ids and len(missing) == len(ids):
            status, reason = ItemStatus.NOT_APPLICABLE, "; ".join(dict.fromkeys(missing))
        results.append(ItemResult(item.item_id, item.title, facts.root, status, reason, ids))
    return Compliance(profile.name, profile.guide, tuple(results))
