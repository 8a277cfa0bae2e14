"""Small helpers over audit reports for the host tests."""

from __future__ import annotations

from pathlib import Path

from vmguard.findings import Finding
from vmguard.host.audit import audit_host


def by_rule(root: Path, rule_id: str) -> list[Finding]:
    """Findings of one rule in the audit of ``root``."""
    return [f for f in audit_host(root).findings if f.rule_id == rule_id]


def evidences(root: Path, rule_id: str) -> list[str]:
    """The evidence of each finding of one rule."""
    return [f.evidence for f in by_rule(root, rule_id)]
