"""Every built-in rule of every command, in one catalogue: for ``vmguard rules``, for checking
that a policy file names rules that exist, and the one place that refuses two rules with
the same id (in one command or across commands) or a rule without its documentation.

Each command keeps its own list (``checks.registry``, the built-in YARA rules,
``vmconfig.rules.catalogue``, ``host.catalogue``, ``host.baseline``, ``integrity.report``,
``fleet.rules``, ``sanitize.catalogue``); this module gathers and checks them. A user's YARA
rule reports as ``malware.yara.<identifier>``, so that prefix is always a valid policy
pattern.

Public API: ``rulebook()``, ``catalogue()``, ``rule_ids()``, ``names_a_rule()``,
``RuleDoc``, ``RulebookError``, ``COMMANDS``, ``USER_RULE_PREFIX``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache

from vmguard.errors import VmguardError
from vmguard.findings import Rule

COMMANDS = ("scan", "audit", "host", "verify", "fleet", "sanitize")
USER_RULE_PREFIX = "malware.yara."


class RulebookError(VmguardError):
    """The built-in rules are inconsistent (a packaging defect): two share an id, or one
    lacks its title, rationale or remediation."""


@dataclass(frozen=True, slots=True)
class RuleDoc:
    """One rule as documented: the command that reports it, and the rule."""

    command: str
    rule: Rule


def catalogue(groups: Iterable[tuple[str, Iterable[Rule]]]) -> tuple[RuleDoc, ...]:
    """Each (command, rules) group's rules in order, checked: every id once across all
    commands, and every rule with a title, rationale and remediation."""
    docs: list[RuleDoc] = []
    seen: dict[str, str] = {}
    for command, rules in groups:
        for rule in rules:
            if rule.rule_id in seen:
                raise RulebookError(
                    f"rule id {rule.rule_id} is declared twice "
                    f"(by {seen[rule.rule_id]} and by {command})"
                )
            seen[rule.rule_id] = command
            missing = [
                name
                for name, text in (
                    ("title", rule.title),
                    ("rationale", rule.rationale),
                    ("remediation", rule.remediation),
                )
                if not text.strip()
            ]
            if missing:
                raise RulebookError(f"rule {rule.rule_id} has no {' and no '.join(missing)}")
            docs.append(RuleDoc(command, rule))
    return tuple(docs)


@cache
def rulebook() -> tuple[RuleDoc, ...]:
    """Every built-in rule, by command (scan, audit, host, verify, fleet, sanitize), in
    catalogue order; raises RulebookError when the catalogues are inconsistent."""
    from vmguard.checks.content import builtin_malware_rules
    from vmguard.checks.registry import all_rules
    from vmguard.fleet.rules import SHARED_RULES
    from vmguard.host.baseline import RULES as BASELINE_RULES
    from vmguard.host.baseline import SIGNATURE_INVALID
    from vmguard.host.catalogue import host_rules
    from vmguard.inspection import FORMAT_MISMATCH
    from vmguard.integrity.report import RULES as VERIFY_RULES
    from vmguard.sanitize.catalogue import sanitize_rules
    from vmguard.vmconfig.rules.catalogue import builtin_rules
    from vmguard.vulns.findings import VULNERABLE_PACKAGE
    from vmguard.vulns.freshness import RULES as ADVISORY_AGE_RULES

    return catalogue(
        (
            ("scan", (*all_rules(), *builtin_malware_rules())),
            ("scan", (FORMAT_MISMATCH, VULNERABLE_PACKAGE, *ADVISORY_AGE_RULES)),
            ("audit", (rule.info for rule in builtin_rules())),
            ("host", (*host_rules(), *BASELINE_RULES, SIGNATURE_INVALID)),
            ("verify", VERIFY_RULES),
            ("fleet", SHARED_RULES.values()),
            ("sanitize", sanitize_rules()),
        )
    )


@cache
def rule_ids() -> frozenset[str]:
    """The id of every built-in rule (built once per process)."""
    return frozenset(doc.rule.rule_id for doc in rulebook())


def names_a_rule(pattern: str) -> bool:
    """Whether a policy's rule id or glob can match any rule vmguard reports."""
    if pattern.startswith(USER_RULE_PREFIX) or fnmatchcase(USER_RULE_PREFIX + "x", pattern):
        return True
    return any(fnmatchcase(rule_id, pattern) for rule_id in rule_ids())
