"""Verification outcomes as vmguard's one result type (a ``Report`` of ``Finding``s).

A valid bundle is a report without findings; every difference becomes a critical
``vm-modification`` finding, one per changed disk, definition or guest file, so JSON and
SARIF consumers see what changed. Nothing here decides exit codes (the CLI does).
"""

from __future__ import annotations

from vmguard.findings import Area, Finding, Location, Report, Severity, Target, Threat
from vmguard.integrity.changes import Change, ChangeKind
from vmguard.integrity.errors import BundleModified, ManifestTooOld, VerificationFailed

_REMEDIATION = (
    "Do not run this VM. Restore the bundle from a trusted copy, or re-sign it after "
    "reviewing every change."
)


def _hex_ranges(change: Change, limit: int = 8) -> str:
    shown = ", ".join(f"0x{r.start:x}-0x{r.end:x}" for r in change.ranges[:limit])
    extra = len(change.ranges) - limit
    return shown + (f" and {extra} more" if extra > 0 else "")


def _change_findings(change: Change) -> list[Finding]:
    rule = {
        ChangeKind.DISK: "integrity.disk-modified",
        ChangeKind.DEFINITION: "integrity.definition-modified",
        ChangeKind.BUNDLE: "integrity.bundle-mismatch",
    }[change.kind]
    evidence = change.reason
    if change.ranges:
        evidence += f"; changed ranges {_hex_ranges(change)}"
    if change.regions:
        evidence += f"; in {', '.join(change.regions)}"
    area = Area.IMAGE if change.kind is ChangeKind.DISK else Area.CONFIG
    offset = change.ranges[0].start if change.ranges else None
    findings = [
        Finding(
            rule_id=rule,
            title=f"{change.kind.value.capitalize()} differs from its signed manifest",
            severity=Severity.CRITICAL,
            threat=Threat.VM_MODIFICATION,
            location=Location(change.path or change.name, area, offset=offset),
            evidence=evidence,
            remediation=_REMEDIATION,
        )
    ]
    findings += [
        Finding(
            rule_id="integrity.guest-file-modified",
            title="Guest file with blocks in a changed range",
            severity=Severity.CRITICAL,
            threat=Threat.VM_MODIFICATION,
            location=Location(hit.path, Area.FILE),
            evidence=f"{change.path}: {hit.volume}",
            remediation=_REMEDIATION,
        )
        for hit in change.guest_files
    ]
    return findings


def failure_report(target: str, error: VerificationFailed) -> Report:
    """The report of a failed verification."""
    if isinstance(error, BundleModified):
        findings = [f for c in error.changes for f in _change_findings(c)]
    else:
        rule = (
            "integrity.manifest-too-old"
            if isinstance(error, ManifestTooOld)
            else "integrity.signature-invalid"
        )
        findings = [
            Finding(
                rule_id=rule,
                title="Bundle signature not accepted",
                severity=Severity.CRITICAL,
                threat=Threat.VM_MODIFICATION,
                location=Location(target, Area.IMAGE),
                evidence=error.diagnostics(),
                remediation=_REMEDIATION,
            )
        ]
    return Report(target=Target("bundle", target), findings=tuple(findings))


def success_report(target: str) -> Report:
    """The report of a valid bundle: no findings."""
    return Report(target=Target("bundle", target))
