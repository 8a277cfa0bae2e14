"""What a check is: rule metadata, and the two kinds of check the scanner runs."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from vmguard.findings import Area, Finding, Location, Severity, Threat
from vmguard.guest.facts import GuestFacts
from vmguard.guest.view import GuestStat, GuestView


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
class FileContent:
    """A window of a guest file's content handed to content checks."""

    path: str
    data: bytes
    offset: int
    """Where ``data`` starts in the file (non-zero for later windows of large files)."""
    stat: GuestStat | None = None
    compiled: bool = False
    """The file is an ELF executable or library: key blocks inside are self-test vectors."""


class PathCheck(Protocol):
    """A check of files chosen by path (credential files, histories, cloud-init)."""

    rules: tuple[Rule, ...]

    def wants(self, path: str) -> bool:
        """Cheap filter on the guest path, run before anything is read."""
        ...

    def check(self, content: FileContent) -> Iterable[Finding]:
        """Findings in one file (whole content, up to the scan's per-file cap)."""
        ...


class GuestCheck(Protocol):
    """A check of the guest as a whole (accounts, sshd, sudoers)."""

    rules: tuple[Rule, ...]

    def check(self, view: GuestView, facts: GuestFacts) -> Iterable[Finding]:
        """Findings for the whole guest."""
        ...


def line_of(data: bytes, offset: int) -> int:
    """1-based line number of ``offset`` in ``data``."""
    return data.count(b"\n", 0, offset) + 1
