"""The user's policy file (``vmguard.toml``): disable rules, change severities, suppress
findings for named targets with a reason.

Generic across commands: a suppression matches by rule id (glob), the finding's subject
(a VM, network or other named thing; glob) and the target or location path (glob).
Suppressed findings stay in the report, marked with the reason. This module must never
execute anything from the file, and reads at most ``MAX_POLICY_BYTES``.

Format::

    [rules]
    disable = ["vmx.vtpm", "libvirt.confidential"]

    [severity]
    "libvirt.cputune" = "info"

    [[suppress]]
    rule = "vmx.vnc*"
    vm = "build-*"            # the finding's subject; "subject" is accepted too
    path = "*/lab/*.vmx"      # optional
    reason = "lab VMs behind the jump host, ticket SEC-12"
    expires = 2026-12-31      # optional; an expired entry no longer suppresses
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from vmguard.errors import VmguardError
from vmguard.findings import Finding, Report, Severity
from vmguard.problems import Problem, Stage
from vmguard.userfiles import UserFileError, read_user_file

POLICY_FILE = "vmguard.toml"
MAX_POLICY_BYTES = 1024 * 1024
MAX_ENTRIES = 10_000


class PolicyError(VmguardError):
    """The policy file is unreadable or invalid."""


@dataclass(frozen=True, slots=True)
class Suppression:
    """One ``[[suppress]]`` entry."""

    rule: str
    """Rule id or glob."""
    reason: str
    subject: str | None = None
    """Glob over the finding's subject (VM name); None matches any."""
    path: str | None = None
    """Glob over the target path or the finding's location path; None matches any."""
    expires: date | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed policy; the empty policy changes nothing."""

    disabled: frozenset[str] = frozenset()
    """Rule ids (or globs) whose findings are dropped."""
    severities: tuple[tuple[str, Severity], ...] = ()
    """Rule id (or glob) -> severity, first match wins."""
    suppressions: tuple[Suppression, ...] = ()
    source: str = ""
    """Where the policy came from (for messages)."""


def _table(document: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: [{key}] must be a table")
    return value


def _text(entry: dict[str, Any], key: str, where: str, *, required: bool) -> str | None:
    value = entry.get(key)
    if value is None:
        if required:
            raise PolicyError(f"{where}: '{key}' is required")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise PolicyError(f"{where}: '{key}' must be a non-empty string")
    return value


def _suppression(entry: object, where: str) -> Suppression:
    if not isinstance(entry, dict):
        raise PolicyError(f"{where}: each [[suppress]] must be a table")
    known = {"rule", "vm", "subject", "path", "reason", "expires"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise PolicyError(f"{where}: unknown key {unknown[0]!r} in [[suppress]]")
    rule = _text(entry, "rule", where, required=True)
    reason = _text(entry, "reason", where, required=True)
    subject = _text(entry, "vm", where, required=False) or _text(
        entry, "subject", where, required=False
    )
    expires = entry.get("expires")
    if expires is not None and not isinstance(expires, date):
        raise PolicyError(f"{where}: 'expires' must be a TOML date (2026-12-31)")
    assert rule is not None and reason is not None
    return Suppression(
        _current(rule),
        reason.strip(),
        subject,
        _text(entry, "path", where, required=False),
        expires,
    )


RENAMED_RULES = {"vmx.encryption": "vmx.encryption.*"}
"""Rule ids that were split into several: an old id in a policy file names all the parts."""


def _current(pattern: str) -> str:
    return RENAMED_RULES.get(pattern, pattern)


def parse_policy(text: str, source: str) -> Policy:
    """Parse policy TOML text; raise PolicyError with a one-line reason."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise PolicyError(f"{source}: not valid TOML ({err})") from err
    unknown = sorted(set(document) - {"rules", "severity", "suppress"})
    if unknown:
        raise PolicyError(f"{source}: unknown section [{unknown[0]}]")
    disable = _table(document, "rules", source).get("disable", [])
    if not isinstance(disable, list) or not all(isinstance(d, str) for d in disable):
        raise PolicyError(f"{source}: [rules] disable must be a list of rule ids")
    severities: list[tuple[str, Severity]] = []
    for rule, value in _table(document, "severity", source).items():
        try:
            severities.append((_current(rule), Severity(str(value).lower())))
        except ValueError as err:
            choices = ", ".join(s.value for s in Severity)
            raise PolicyError(f"{source}: [severity] {rule} = {value!r}; use {choices}") from err
    entries = document.get("suppress", [])
    if not isinstance(entries, list):
        raise PolicyError(f"{source}: use [[suppress]] entries")
    if len(entries) + len(disable) + len(severities) > MAX_ENTRIES:
        raise PolicyError(f"{source}: more than {MAX_ENTRIES} entries")
    suppressions = tuple(
        _suppression(entry, f"{source} [[suppress]] #{n}") for n, entry in enumerate(entries, 1)
    )
    return Policy(frozenset(_current(d) for d in disable), tuple(severities), suppressions, source)


def load_policy(path: Path | None, cwd: Path | None = None) -> Policy:
    """The policy at ``path``, else ``vmguard.toml`` in ``cwd`` if present, else empty."""
    if path is None:
        candidate = (cwd or Path.cwd()) / POLICY_FILE
        if not candidate.is_file():
            return Policy()
        path = candidate
    try:
        data = read_user_file(path, "policy", MAX_POLICY_BYTES)
    except UserFileError as err:
        raise PolicyError(err.diagnostics()) from err
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise PolicyError(f"{path}: policy is not UTF-8") from err
    return parse_policy(text, str(path))


def _matches(s: Suppression, finding: Finding, target_path: str, today: date) -> bool:
    if s.expires is not None and s.expires < today:
        return False
    if not fnmatchcase(finding.rule_id, s.rule):
        return False
    if s.subject is not None and (
        finding.subject is None or not fnmatchcase(finding.subject, s.subject)
    ):
        return False
    return s.path is None or any(
        fnmatchcase(p, s.path) for p in (target_path, finding.location.path)
    )


def apply_policy(report: Report, policy: Policy, today: date | None = None) -> Report:
    """The report with disabled rules dropped, severities overridden and suppressions marked.

    Expired suppressions, and rule ids or globs that name no vmguard rule (a typo would
    otherwise disable or suppress nothing, silently), are reported as errors.
    """
    day = today or date.today()
    findings: list[Finding] = []
    for original in report.findings:
        if any(fnmatchcase(original.rule_id, d) for d in policy.disabled):
            continue
        finding = original
        for pattern, severity in policy.severities:
            if fnmatchcase(finding.rule_id, pattern):
                finding = replace(finding, severity=severity)
                break
        for suppression in policy.suppressions:
            if _matches(suppression, finding, report.target.path, day):
                finding = replace(finding, suppressed=suppression.reason)
                break
        findings.append(finding)
    expired = [
        Problem(Stage.POLICY, policy.source, f"suppression for {s.rule!r} expired on {s.expires}")
        for s in policy.suppressions
        if s.expires is not None and s.expires < day
    ]
    problems = tuple(expired) + unknown_rules(policy)
    return replace(report, findings=tuple(findings), errors=report.errors + problems)


def unknown_rules(policy: Policy) -> tuple[Problem, ...]:
    """One error per rule id or glob of the policy that can match no rule vmguard reports."""
    named = [
        *(("[rules] disable", d) for d in sorted(policy.disabled)),
        *(("[severity]", pattern) for pattern, _ in policy.severities),
        *(("[[suppress]] rule", s.rule) for s in policy.suppressions),
    ]
    if not named:
        return ()
    from vmguard.rulebook import names_a_rule  # every command's catalogue: load when needed

    return tuple(
        Problem(
            Stage.POLICY,
            policy.source,
            f"{where} {pattern!r} names no vmguard rule (vmguard rules)",
        )
        for where, pattern in dict.fromkeys(named)
        if not names_a_rule(pattern)
    )
