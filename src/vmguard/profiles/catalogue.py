"""The built-in guide profiles, listed explicitly, and which rules decide each item.

The item-to-rule mapping is read from the rules' own references (``"<tag> <item>"``, or
``"<tag> <item>: <key>"`` when a rule covers several items one key each), so it lives
beside the rules. ``mapping_problems`` names items nothing decides and citations of items
a profile does not have; the tests require it to be empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from vmguard.errors import VmguardError
from vmguard.problems import Problem, Stage
from vmguard.profiles.libvirt_kvm import LIBVIRT_KVM
from vmguard.profiles.model import Decider, Profile, Scope, cited_item
from vmguard.profiles.virtualbox import VIRTUALBOX_GUIDE
from vmguard.profiles.vmware import ESXI8_STIG, VSPHERE8_SCG

PROFILES: tuple[Profile, ...] = (ESXI8_STIG, VSPHERE8_SCG, LIBVIRT_KVM, VIRTUALBOX_GUIDE)


class UnknownProfile(VmguardError):
    """``--profile`` names no built-in profile."""


def profile_named(name: str) -> Profile:
    """The profile called ``name``; raises UnknownProfile with the choices."""
    for profile in PROFILES:
        if profile.name == name:
            return profile
    choices = ", ".join(p.name for p in PROFILES)
    raise UnknownProfile(f"--profile {name}: no such profile (choose from {choices})")


def _rule_references() -> Iterator[tuple[Scope, str, tuple[str, ...]]]:
    from vmguard.host.catalogue import host_rules
    from vmguard.vmconfig.rules.catalogue import builtin_rules

    for rule in builtin_rules():
        yield Scope.VM, rule.info.rule_id, rule.info.references
    for host_rule in host_rules():
        yield Scope.HOST, host_rule.rule_id, host_rule.references


@cache
def deciders(profile: Profile) -> dict[str, tuple[Decider, ...]]:
    """Item id -> the rules (and keys) whose findings fail it, from the rules' references."""
    found: dict[str, list[Decider]] = {}
    for _, rule_id, references in _rule_references():
        for reference in references:
            cited = cited_item(reference, profile)
            if cited is not None:
                found.setdefault(cited[0], []).append(Decider(rule_id, cited[1]))
    return {item: tuple(rules) for item, rules in found.items()}


def mapping_problems(profile: Profile) -> list[Problem]:
    """Items no rule decides (and not manual), cited items the profile lacks, wrong scopes;
    each a problem at "<profile> <item>"."""
    known = {item.item_id: item for item in profile.items}
    mapping = deciders(profile)

    def problem(item_id: str, reason: str) -> Problem:
        return Problem(Stage.PROFILE, f"{profile.name} {item_id}", reason)

    problems = [
        problem(item.item_id, "has no deciding rule and no manual reason")
        for item in profile.items
        if not item.manual and item.item_id not in mapping
    ]
    problems += [
        problem(item_id, "a rule cites it, but the profile does not list it")
        for item_id in sorted(set(mapping) - set(known))
    ]
    scopes = {rule_id: scope for scope, rule_id, _ in _rule_references()}
    for item_id, rules in mapping.items():
        if item_id in known and any(scopes[d.rule_id] != known[item_id].scope for d in rules):
            problems.append(problem(item_id, "decided by a rule of another scope"))
    return problems
