"""Verification outcomes as vmguard's one result type (a ``Report`` of ``Finding``s).

A valid bundle is a report without findings; every difference becomes a critical
``vm-modification`` finding, one per changed disk, definition or guest file, so JSON and
SARIF consumers see what changed. Nothing here decides exit codes (the CLI does).
"""

from __future__ import annotations

from vmguard.findings import Area, Finding, Report, Rule, Severity, Target, TargetKind, Threat
from vmguard.integrity.changes import Change, ChangeKind
from vmguard.integrity.errors import BundleModified, ManifestTooOld, VerificationFailed

_REMEDIATION = (
    "Do not run this VM. Restore the bundle from a trusted copy, or re-sign it after "
    "reviewing every change."
)


def _rule(rule_id: str, title: str, *, rationale: str) -> Rule:
    return Rule(
        rule_id,
        title,
        Severity.CRITICAL,
        Threat.VM_MODIFICATION,
        _REMEDIATION,
        rationale=rationale,
    )


CHANGE_RULES = {
    ChangeKind.DISK: _rule(
        "integrity.disk-modified",
        "Disk differs from its signed manifest",
        rationale=(
            "A disk that differs from what was signed may carry changes an attacker made after "
            "signing; running it trusts them."
        ),
    ),
    ChangeKind.DEFINITION: _rule(
        "integrity.definition-modified",
        "Definition differs from its signed manifest",
        rationale=(
            "A changed definition can attach host devices, open consoles or weaken isolation "
            "without touching the disk."
        ),
    ),
    ChangeKind.BUNDLE: _rule(
        "integrity.bundle-mismatch",
        "Bundle differs from its signed manifest",
        rationale=(
            "Files added to or missing from a signed bundle mean it is not the bundle that was "
            "signed."
        ),
    ),
}
GUEST_FILE_MODIFIED = _rule(
    "integrity.guest-file-modified",
    "Guest file with blocks in a changed range",
    rationale=(
        "Names the guest files whose blocks changed after signing, so a reviewer sees what the "
        "modification touched."
    ),
)
SIGNATURE_INVALID = _rule(
    "integrity.signature-invalid",
    "Bundle signature not accepted",
    rationale=(
        "A signature that is not accepted proves nothing about the bundle: it may have been "
        "altered, or signed by someone else."
    ),
)
MANIFEST_TOO_OLD = _rule(
    "integrity.manifest-too-old",
    "Signed manifest older than the verifier accepts (a downgrade)",
    rationale=(
        "An old but validly signed manifest can be replayed to roll a VM back to a vulnerable "
        "version (a downgrade attack)."
    ),
)
RULES = (*CHANGE_RULES.values(), GUEST_FILE_MODIFIED, SIGNATURE_INVALID, MANIFEST_TOO_OLD)
"""Every rule ``vmguard verify`` reports by."""


def _hex_ranges(change: Change, limit: int = 8) -> str:
    shown = ", ".join(f"0x{r.start:x}-0x{r.end:x}" for r in change.ranges[:limit])
    extra = len(change.ranges) - limit
    return shown + (f" and {extra} more" if extra > 0 else "")


def _change_findings(change: Change) -> list[Finding]:
    evidence = change.reason
    if change.ranges:
        evidence += f"; changed ranges {_hex_ranges(change)}"
    if change.regions:
        evidence += f"; in {', '.join(change.regions)}"
    area = Area.IMAGE if change.kind is ChangeKind.DISK else Area.CONFIG
    offset = change.ranges[0].start if change.ranges else None
    findings = [
        CHANGE_RULES[change.kind].finding(
            change.path or change.name, evidence, area=area, offset=offset
        )
    ]
    findings += [
        GUEST_FILE_MODIFIED.finding(hit.path, f"{change.path}: {hit.volume}")
        for hit in change.guest_files
    ]
    return findings


def failure_report(target: str, error: VerificationFailed) -> Report:
    """The report of a failed verification."""
    if isinstance(error, BundleModified):
        findings = [f for c in error.changes for f in _change_findings(c)]
    else:
        rule = MANIFEST_TOO_OLD if isinstance(error, ManifestTooOld) else SIGNATURE_INVALID
        findings = [rule.finding(target, error.diagnostics(), area=Area.IMAGE)]
    return Report(target=Target(TargetKind.BUNDLE, target), findings=tuple(findings))


def success_report(target: str) -> Report:
    """The report of a valid bundle: no findings."""
    return Report(target=Target(TargetKind.BUNDLE, target))
