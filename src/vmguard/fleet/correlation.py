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

from vmguard.findings import Area, Finding, Location, Severity, Threat
from vmguard.fleet.schema import images, secret_markers

_RULES: dict[str, tuple[str, str, Severity, str]] = {
    "ssh-host-key": (
        "fleet.shared-ssh-host-key",
        "SSH host key shared by several images",
        Severity.HIGH,
        "Delete /etc/ssh/ssh_host_* from the template and let each instance generate its own "
        "at first boot; rotate the key on every running clone.",
    ),
    "authorized-key": (
        "fleet.shared-authorized-key",
        "authorized_keys entry shared by several images",
        Severity.MEDIUM,
        "Inject login keys per instance at boot (cloud-init, metadata service) instead of "
        "baking one into every image.",
    ),
    "password-hash": (
        "fleet.shared-password-hash",
        "Same password hash in several images",
        Severity.HIGH,
        "Lock the account in the template (passwd -l) and set per-instance credentials at "
        "first boot; change the password on every running clone.",
    ),
    "private-key": (
        "fleet.shared-private-key",
        "Same private key in several images",
        Severity.HIGH,
        "Remove the key from every image and revoke it; give each instance its own key.",
    ),
    "cloud-credential": (
        "fleet.shared-cloud-credential",
        "Same cloud credential in several images",
        Severity.CRITICAL,
        "Revoke the credential now, remove it from every image, and give instances "
        "short-lived role credentials (instance profiles, workload identity).",
    ),
    "credential": (
        "fleet.shared-credential",
        "Same credential in several images",
        Severity.HIGH,
        "Revoke the credential, remove it from every image, and provision secrets per "
        "instance at boot.",
    ),
}


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

    kind: str
    carriers: tuple[Carrier, ...]

    @property
    def images(self) -> tuple[str, ...]:
        """The distinct images, sorted."""
        return tuple(sorted({c.image for c in self.carriers}))

    @property
    def severity(self) -> Severity:
        """The severity of the fleet finding for this kind."""
        return _RULES[self.kind][2]


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
    groups: dict[tuple[str, str], list[Carrier]] = defaultdict(list)
    for row in rows:
        groups[(row.kind, row.key_hmac)].append(Carrier(row.image, row.path, row.evidence))
    shared = [
        SharedSecret(kind, tuple(sorted(set(carriers), key=lambda c: (c.image, c.path))))
        for (kind, _), carriers in groups.items()
        if len({c.image for c in carriers}) > 1 and kind in _RULES
    ]
    return sorted(shared, key=lambda s: (-s.severity.rank, -len(s.images), s.kind, s.images))


def shared_findings(group: SharedSecret) -> list[tuple[str, Finding]]:
    """(image, finding) for every image carrying the group's secret."""
    rule_id, title, severity, remediation = _RULES[group.kind]
    count = len(group.images)
    out: list[tuple[str, Finding]] = []
    for carrier in group.carriers:
        others = [i for i in group.images if i != carrier.image]
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        out.append(
            (
                carrier.image,
                Finding(
                    rule_id=rule_id,
                    title=title,
                    severity=severity,
                    threat=Threat.GUEST_TO_GUEST,
                    location=Location(carrier.path, Area.FILE),
                    evidence=f"shared by {count} images (also in {shown}): {carrier.evidence}",
                    remediation=remediation,
                ),
            )
        )
    return out
