"""``audit_host``: gather the host's facts once, run every host check, one ``Report``.

A check that raises is recorded in the report's errors (``vmguard.problems.run_guarded``, as
in ``scan`` and ``audit``) and the audit goes on; unreadable
files found while gathering are errors too. This module must never write to the host.
"""

from __future__ import annotations

from pathlib import Path

from vmguard.findings import Finding, Report, Target, TargetKind
from vmguard.host.catalogue import host_checks
from vmguard.host.facts import HostFacts, gather_host_facts
from vmguard.host.root import HostRoot
from vmguard.problems import check_name, run_guarded
from vmguard.profiles.evaluate import host_compliance
from vmguard.profiles.model import Profile

TARGET_KIND = TargetKind.HOST


def run_host_checks(facts: HostFacts, profile: Profile | None = None) -> Report:
    """The report of every host check over already gathered facts (and, with ``profile``,
    every item of that guide judged)."""
    findings: list[Finding] = []
    errors = list(facts.problems)
    for check in host_checks():
        findings.extend(
            run_guarded(
                check.check, facts, name=check_name(check), where=facts.root, problems=errors
            )
        )
    compliance = None if profile is None else host_compliance(profile, facts, findings)
    return Report(
        target=Target(TARGET_KIND, facts.root),
        findings=tuple(findings),
        errors=tuple(errors),
        compliance=compliance,
    )


def audit_host(root: Path, profile: Profile | None = None) -> Report:
    """Audit the host whose root directory is ``root`` (``/`` for the live host)."""
    return run_host_checks(gather_host_facts(HostRoot(root)), profile)
