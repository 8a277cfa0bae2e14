"""Run the rule catalogue over parsed definitions and turn hits into Findings.

The engine evaluates declared rules itself and calls code rules; it never opens a file. A
rule that raises is recorded by ``vmguard.problems.run_guarded`` as a report error and the
audit goes on, as in ``scan`` and ``host``; findings are built once, complete, and never
patched afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from xml.etree.ElementTree import Element

from vmguard.findings import Area, Finding, Location, Rule
from vmguard.problems import Problem, run_guarded
from vmguard.vmconfig.model import ConfigDocument, ConfigFormat, VmSpec
from vmguard.vmconfig.rules.model import (
    AuditContext,
    ConfigRule,
    ElementRule,
    FilterCheck,
    Hit,
    KeyRule,
    NetworkCheck,
    ValueTest,
    VmCheck,
    is_vmx_false,
    is_vmx_true,
    retirement,
    settings_matching,
    shown,
)


def _key_hits(rule: KeyRule, spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    if not spec.settings and spec.format is not ConfigFormat.VMX:
        return  # an OVF without VMware settings is not a VMware definition
    ignored, note = retirement(rule.retired, spec, ctx)
    if ignored:
        return
    for key in rule.keys:
        found = settings_matching(spec, key)
        for setting in found:
            value = setting.value
            unsafe = {
                ValueTest.TRUE: not is_vmx_true(value),
                ValueTest.FALSE: not is_vmx_false(value),
                ValueTest.ABSENT: True,
                ValueTest.NOT_TRUE: is_vmx_true(value),
                ValueTest.EQUALS: value.strip() != rule.expected,
            }[rule.safe]
            if unsafe:
                yield Hit(setting.key, shown(setting), assumption=note)
        if found or "*" in key or not rule.unsafe_when_absent_on:
            continue
        platform, why = ctx.platform_for(spec)
        if platform is None:
            products = "/".join(sorted(p.value for p in rule.unsafe_when_absent_on))
            yield Hit(
                key,
                "absent",
                assumption=f"product unknown; the default is unsafe on {products} "
                "(pass --platform to judge for one product)",
            )
        elif platform in rule.unsafe_when_absent_on:
            yield Hit(key, f"absent (unsafe default on {platform.value}: {why})")


def _definition_root(spec: VmSpec, formats: frozenset[ConfigFormat]) -> Element | None:
    if spec.root is None:
        return None
    if spec.format in formats:
        return spec.root
    if spec.format is ConfigFormat.OVF and ConfigFormat.VBOX in formats:
        return spec.root.find(".//Machine")  # VirtualBox's own OVF export embeds its settings
    return None


def _element_hits(rule: ElementRule, spec: VmSpec) -> Iterator[Hit]:
    root = _definition_root(spec, rule.formats)
    if root is None:
        return
    for path in rule.paths:
        for element in root.iterfind(path):
            if rule.attribute is None:
                yield Hit(path, f"<{element.tag}> present")
                continue
            value = element.get(rule.attribute)
            if value is not None and value.lower() in rule.values:
                yield Hit(f"{path}/@{rule.attribute}", f'{rule.attribute}="{value}"')


def judges(rule: ConfigRule, spec: VmSpec) -> bool:
    """Whether ``rule`` can judge ``spec`` at all (its format carries what the rule reads)."""
    match rule:
        case KeyRule():
            return spec.format is ConfigFormat.VMX or (
                spec.format is ConfigFormat.OVF and bool(spec.settings)
            )
        case ElementRule():
            return _definition_root(spec, rule.formats) is not None
        case VmCheck():
            vmware_target = spec.platform is not None and spec.platform.is_vmware
            vmware_rule = ConfigFormat.VMX in rule.formats
            if spec.format is ConfigFormat.OVF and vmware_rule and not vmware_target:
                return False  # VMware rules judge an OVF only when it targets VMware
            return spec.format in rule.formats or (
                spec.format is ConfigFormat.OVF
                and ConfigFormat.VBOX in rule.formats
                and _definition_root(spec, rule.formats) is not None
            )
        case NetworkCheck() | FilterCheck():
            return False


def _vm_hits(rule: ConfigRule, spec: VmSpec, ctx: AuditContext) -> Iterator[Hit]:
    if not judges(rule, spec):
        return
    match rule:
        case KeyRule():
            yield from _key_hits(rule, spec, ctx)
        case ElementRule():
            yield from _element_hits(rule, spec)
        case VmCheck():
            yield from rule.check(spec, ctx)
        case NetworkCheck() | FilterCheck():
            return


def _finding(info: Rule, hit: Hit, path: str, subject: str, kind: str) -> Finding:
    notes = ""
    if hit.assumption:
        notes += f" [assumption: {hit.assumption}]"
    if hit.host_dependent:
        notes += f" [depends on host configuration: {hit.host_dependent}]"
    return Finding(
        rule_id=info.rule_id,
        title=info.title,
        severity=hit.severity or info.severity,
        threat=info.threat,
        location=Location(path, Area.CONFIG),
        evidence=f"{kind} {subject!r}: {hit.where}: {hit.evidence}{notes}",
        remediation=info.remediation,
        references=info.references,
        subject=subject,
    )


def _findings(
    hits: Callable[[], Iterable[Hit]], info: Rule, path: str, subject: str, kind: str
) -> Iterator[Finding]:
    for hit in hits():
        yield _finding(info, hit, path, subject, kind)


def audit_document(
    document: ConfigDocument, rules: tuple[ConfigRule, ...], ctx: AuditContext
) -> tuple[list[Finding], list[Problem]]:
    """Every finding of every rule over every VM, network and filter of one document; a
    rule that fails on one of them is a problem there, and the others are still judged."""
    findings: list[Finding] = []
    errors: list[Problem] = []
    path = document.path

    def guarded(hits: Callable[[], Iterable[Hit]], info: Rule, subject: str, kind: str) -> None:
        findings.extend(
            run_guarded(
                _findings,
                hits,
                info,
                path,
                subject,
                kind,
                name=f"rule {info.rule_id} on {kind} {subject!r}",
                where=path,
                problems=errors,
            )
        )

    for rule in rules:
        for spec in document.vms:
            guarded(partial(_vm_hits, rule, spec, ctx), rule.info, spec.name, "VM")
        if isinstance(rule, NetworkCheck):
            for network in document.networks:
                guarded(partial(rule.check, network), rule.info, network.name, "network")
        if isinstance(rule, FilterCheck):
            for nwfilter in document.filters:
                guarded(partial(rule.check, nwfilter), rule.info, nwfilter.name, "filter")
    return findings, errors
