"""Findings arranged the way people read them: by threat class, then by severity.

Shared by the console and HTML reports so that both tell the same story in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vmguard.findings import Finding, Report, Severity, Threat
from vmguard.report.threats import ThreatInfo, threat_info, threat_order

SEVERITIES: tuple[Severity, ...] = tuple(sorted(Severity, key=lambda s: -s.rank))
"""Critical first."""


@dataclass(frozen=True, slots=True)
class SeverityGroup:
    """The findings of one threat class at one severity."""

    severity: Severity
    findings: tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class ThreatGroup:
    """The findings of one threat class, worst severity first."""

    info: ThreatInfo
    severities: tuple[SeverityGroup, ...]

    @property
    def active(self) -> int:
        """How many of the findings are not suppressed."""
        return sum(1 for g in self.severities for f in g.findings if f.suppressed is None)

    @property
    def suppressed(self) -> int:
        """How many of the findings a policy suppressed."""
        return sum(1 for g in self.severities for f in g.findings if f.suppressed is not None)


def _finding_key(finding: Finding) -> tuple[str, str, int, int]:
    loc = finding.location
    return (finding.rule_id, loc.path, loc.line or 0, loc.offset or 0)


def group_findings(findings: Iterable[Finding]) -> tuple[ThreatGroup, ...]:
    """Threat classes in survey order, each with its severities from critical to info.

    Suppressed findings stay in their group (they are shown as suppressed, not hidden);
    classes without findings are left out.
    """
    by_class: dict[Threat, dict[Severity, list[Finding]]] = {}
    for finding in findings:
        by_class.setdefault(finding.threat, {}).setdefault(finding.severity, []).append(finding)
    groups = []
    for threat in sorted(by_class, key=threat_order):
        levels = by_class[threat]
        groups.append(
            ThreatGroup(
                threat_info(threat),
                tuple(
                    SeverityGroup(s, tuple(sorted(levels[s], key=_finding_key)))
                    for s in SEVERITIES
                    if s in levels
                ),
            )
        )
    return tuple(groups)


def threat_severity_counts(reports: Sequence[Report]) -> dict[Threat, dict[Severity, int]]:
    """Unsuppressed findings per threat class and severity, over every report.

    Every class and severity is present (zero when nothing was found).
    """
    counts = {t: dict.fromkeys(SEVERITIES, 0) for t in Threat}
    for report in reports:
        for finding in report.findings:
            if finding.suppressed is None:
                counts[finding.threat][finding.severity] += 1
    return counts
