"""The one result type: Findings in a Report. Every command produces a Report; every output
format renders one."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vmguard.inventory import Inventory
    from vmguard.profiles.model import Compliance


class Severity(StrEnum):
    """How bad a finding is."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """4 for critical down to 0 for info."""
        return _RANK[self]


_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class Threat(StrEnum):
    """Threat classes (see DESIGN.md): the survey's eight plus what images carry."""

    VM_COMMUNICATION = "vm-communication"
    VM_ESCAPE = "vm-escape"
    HOST_MONITORING = "host-monitoring"
    VM_MONITORING = "vm-monitoring"
    DENIAL_OF_SERVICE = "denial-of-service"
    GUEST_TO_GUEST = "guest-to-guest"
    VM_MODIFICATION = "vm-modification"
    HYPERVISOR_MODIFICATION = "hypervisor-modification"
    IMAGE_EXPOSURE = "image-exposure"
    MALWARE = "malware"
    VULNERABLE_SOFTWARE = "vulnerable-software"
    WEAK_CONFIGURATION = "weak-configuration"


class Area(StrEnum):
    """Where a finding's location lives."""

    FILE = "file"
    UNALLOCATED = "unallocated"
    CONFIG = "config"
    HOST = "host"
    IMAGE = "image"


@dataclass(frozen=True, slots=True)
class Location:
    """Where the evidence is."""

    path: str
    area: Area = Area.FILE
    line: int | None = None
    offset: int | None = None
    partition: int | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found, with redacted evidence and how to fix it."""

    rule_id: str
    title: str
    severity: Severity
    threat: Threat
    location: Location
    evidence: str
    """Already redacted: never holds a whole secret."""
    remediation: str
    references: tuple[str, ...] = ()
    subject: str | None = None
    """What inside the target the finding is about (a VM or network name), for policies."""
    suppressed: str | None = None
    """The policy's reason when the finding is suppressed; it stays in the report."""
    fingerprint: str | None = field(default=None, repr=False, compare=False)
    """SHA-256 of the secret or key behind the finding, for de-duplication and cross-image
    correlation; never rendered in reports (a digest of a weak password can be cracked)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule's identity and documentation; findings are made from it."""

    rule_id: str
    title: str
    severity: Severity
    threat: Threat
    remediation: str
    references: tuple[str, ...] = ()

    def finding(
        self,
        path: str,
        evidence: str,
        *,
        line: int | None = None,
        area: Area = Area.FILE,
        offset: int | None = None,
        partition: int | None = None,
        severity: Severity | None = None,
        title: str | None = None,
        secret: bytes | None = None,
    ) -> Finding:
        """A finding of this rule (``evidence`` must already be redacted)."""
        return Finding(
            rule_id=self.rule_id,
            title=title or self.title,
            severity=severity or self.severity,
            threat=self.threat,
            location=Location(path, area, line, offset, partition),
            evidence=evidence,
            remediation=self.remediation,
            references=self.references,
            fingerprint=hashlib.sha256(secret).hexdigest() if secret else None,
        )


@dataclass(frozen=True, slots=True)
class ReportError:
    """Something that could not be read, without failing the whole run."""

    path: str
    message: str


class TargetKind(StrEnum):
    """What a report is about."""

    IMAGE = "image"
    VM_CONFIG = "vm-config"
    HOST = "host"
    BUNDLE = "bundle"


@dataclass(frozen=True, slots=True)
class Target:
    """What was examined."""

    kind: TargetKind
    path: str


@dataclass(frozen=True, slots=True)
class Report:
    """The result of one command on one target."""

    target: Target
    inventory: Inventory | None = None
    """What an image holds (images only)."""
    findings: tuple[Finding, ...] = ()
    errors: tuple[ReportError, ...] = ()
    checked: bool = field(default=True)
    """False for commands that only describe (inspect without checks)."""
    compliance: Compliance | None = None
    """Every item of the guide profile asked for (--profile), judged; None without one."""

    def summary(self) -> dict[str, int]:
        """Count of unsuppressed findings per severity, every severity present."""
        counts = {s.value: 0 for s in Severity}
        for finding in self.findings:
            if finding.suppressed is None:
                counts[finding.severity.value] += 1
        return counts

    def worst(self) -> Severity | None:
        """The highest severity among the unsuppressed findings."""
        active = (f.severity for f in self.findings if f.suppressed is None)
        return max(active, key=lambda s: s.rank, default=None)
