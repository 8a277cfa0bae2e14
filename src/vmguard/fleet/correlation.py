"""Findings only a fleet can see: the same secret in several images (threat guest-to-guest).

Images are compared through their current results' secret markers: equal keyed HMACs mean
the same SSH host key, authorized key, password hash, private key or credential. Clones
that share a host key can impersonate each other; one leak of a shared credential opens
every image that carries it. This module must never return or render a marker's HMAC, a
digest or a secret: a group is described by its kind, the images and redacted evidence.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, select

from vmguard.findings import Finding, SecretKind, Severity
from vmguard.fleet.rules import SHARED_RULES
from vmguard.fleet.schema import images, secret_markers


@dataclass(frozen=True, slots=True)
class Carrier:
    """One place a shared secret was found."""

    image: str
    path: str
    """Guest path."""
    evidence: str
    """Redacted, as in the image's own finding."""


@dataclass(frozen=True, slots=True)
class SharedSecret:
    """One secret carried by several images."""

    kind: SecretKind
    carriers: tuple[Carrier, ...]

    @property
    def images(self) -> tuple[str, ...]:
        """The distinct images, sorted."""
        return tuple(sorted({c.image for c in self.carriers}))

    @property
    def severity(self) -> Severity:
        """The severity of the fleet finding for this kind."""
        return SHARED_RULES[self.kind].severity


def shared_secrets(conn: Connection) -> list[SharedSecret]:
    """Every secret that the current results of two or more images carry."""
    rows = conn.execute(
        select(
            secret_markers.c.kind,
            secret_markers.c.key_hmac,
            secret_markers.c.path,
            secret_markers.c.evidence,
            images.c.path.label("image"),
        ).join(images, images.c.current_scan_id == secret_markers.c.scan_id)
    )
    known = {kind.value: kind for kind in SHARED_RULES}
    groups: dict[tuple[SecretKind, str], list[Carrier]] = defaultdict(list)
    for row in rows:
        kind = known.get(row.kind)
        if kind is not None:  # a kind this version does not know is left out
            groups[(kind, row.key_hmac)].append(Carrier(row.image, row.path, row.evidence))
    shared = [
        SharedSecret(kind, tuple(sorted(set(carriers), key=lambda c: (c.image, c.path))))
        for (kind, _), carriers in groups.items()
        if len({c.image for c in carriers}) > 1
    ]
    return sorted(shared, key=lambda s: (-s.severity.rank, -len(s.images), s.kind, s.images))


def shared_findings(group: SharedSecret) -> list[tuple[str, Finding]]:
    """(image, finding) for every image carrying the group's secret."""
    rule = SHARED_RULES[group.kind]
    count = len(group.images)
    out: list[tuple[str, Finding]] = []
    for carrier in group.carriers:
        others = [i for i in group.images if i != carrier.image]
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        evidence = f"shared by {count} images (also in {shown}): {carrier.evidence}"
        out.append((carrier.image, rule.finding(carrier.path, evidence)))
    return out
