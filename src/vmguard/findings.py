"""The one result type: Findings in a Report. Every command produces a Report; every output
format renders one. Every finding is made from a Rule, the one rule model of every command
(``vmguard.rulebook`` gathers them)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from vmguard.problems import Problem

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


class SecretKind(StrEnum):
    """A secret or key that several images can carry at once: what fleet correlation groups
    by (the values are stored in the fleet database)."""

    SSH_HOST_KEY = "ssh-host-key"
    AUTHORIZED_KEY = "authorized-key"
    PASSWORD_HASH = "password-hash"  # noqa: S105 - a kind of secret, not a password
    PRIVATE_KEY = "private-key"
    CLOUD_CREDENTIAL = "cloud-credential"
    CREDENTIAL = "credential"


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
    public_key: str | None = field(default=None, repr=False, compare=False)
    """OpenSSH ``SHA256:`` fingerprint of the public key the finding names (public keys are
    not secret; the evidence shows it too), for cross-image correlation."""
    rule: Rule | None = field(default=None, repr=False, compare=False)
    """The rule the finding was made from, for its facts (``Rule.shares``, ``Rule.generic``);
    None for findings rebuilt from storage."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule: its identity, its documentation, and the facts other layers key on (never
    its id); findings are made from it. Every command's rules are this type, gathered in
    ``vmguard.rulebook``, which requires a title, rationale and remediation of each."""

    rule_id: str
    """Stable id, prefixed by area (``secret.``, ``vmx.``, ``host.``, ``fleet.``, ...)."""
    title: str
    severity: Severity
    """The usual severity (a finding may carry another: secrets by validation, vulnerable
    packages by their worst advisory)."""
    threat: Threat
    remediation: str
    references: tuple[str, ...] = ()
    rationale: str = field(default="", kw_only=True)
    """Why it matters: the risk a finding of this rule stands for."""
    shares: SecretKind | None = field(default=None, kw_only=True)
    """Set when a finding's ``fingerprint`` (or ``public_key``) identifies a secret or key of
    this kind that other images may carry too: fleet correlation groups by it."""
    generic: bool = field(default=False, kw_only=True)
    """A low-specificity secret rule: where a vendor-specific rule finds the same secret at
    the same severity, the specific one is reported."""
    spans_lines: bool = field(default=False, kw_only=True)
    """The secret spans lines (a key block, a JSON document) or comes as a pair on two lines:
    removing only the line a finding names would leave the rest behind."""

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
        public_key: str | None = None,
    ) -> Finding:
        """A finding of this rule (``evidence`` must already be redacted; ``public_key`` is
        the OpenSSH fingerprint of a public key the finding names)."""
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
            public_key=public_key,
            rule=self,
        )


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
    errors: tuple[Problem, ...] = ()
    """What could not be read or checked; the JSON ``errors[]`` (``path``, ``message``)."""
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
