"""Every built-in rule of every command, in one list: for ``vmguard rules`` and for checking
that a policy file names rules that exist.

Each command keeps its own catalogue (``checks.registry``, the built-in YARA rules,
``vmconfig.rules.catalogue``, ``host.catalogue``, ``host.baseline``, ``integrity.report``,
``fleet.rules``);
this module only gathers them. A user's YARA rule reports as ``malware.yara.<identifier>``,
so that prefix is always a valid policy pattern.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache

from vmguard.findings import Rule, Severity, Threat

COMMANDS = ("scan", "audit", "host", "verify", "fleet", "sanitize")
USER_RULE_PREFIX = "malware.yara."


@dataclass(frozen=True, slots=True)
class RuleDoc:
    """One rule as documented: the command that reports it and what it means."""

    command: str
    rule_id: str
    title: str
    severity: Severity
    """The usual severity (a finding may carry another: secrets by validation, vulnerable
    packages by their worst advisory)."""
    threat: Threat
    remediation: str
    rationale: str = ""
    references: tuple[str, ...] = ()


def _docs(command: str, rules: Iterable[Rule]) -> list[RuleDoc]:
    return [
        RuleDoc(command, r.rule_id, r.title, r.severity, r.threat, r.remediation, "", r.references)
        for r in rules
    ]


def rulebook() -> tuple[RuleDoc, ...]:
    """Every built-in rule, by command (scan, audit, host, verify, fleet), in catalogue order."""
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

    docs = _docs("scan", (*all_rules(), *builtin_malware_rules()))
    docs += _docs("scan", (FORMAT_MISMATCH, VULNERABLE_PACKAGE, *ADVISORY_AGE_RULES))
    docs += [
        RuleDoc(
            "audit",
            i.rule_id,
            i.title,
            i.severity,
            i.threat,
            i.remediation,
            i.rationale,
            i.references,
        )
        for i in (rule.info for rule in builtin_rules())
    ]
    docs += _docs("host", (*host_rules(), *BASELINE_RULES, SIGNATURE_INVALID))
    docs += _docs("verify", VERIFY_RULES)
    docs += _docs("fleet", SHARED_RULES.values())
    docs += _docs("sanitize", sanitize_rules())
    return tuple(docs)


@cache
def rule_ids() -> frozenset[str]:
    """The id of every built-in rule (built once per process)."""
    return frozenset(doc.rule_id for doc in rulebook())


def names_a_rule(pattern: str) -> bool:
    """Whether a policy's rule id or glob can match any rule vmguard reports."""
    if pattern.startswith(USER_RULE_PREFIX) or fnmatchcase(USER_RULE_PREFIX + "x", pattern):
        return True
    return any(fnmatchcase(rule_id, pattern) for rule_id in rule_ids())
