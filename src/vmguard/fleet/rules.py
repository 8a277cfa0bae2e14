"""The fleet's own rules: the same secret found in several images (threat guest-to-guest).

Kept apart from ``correlation`` (which needs the database) so ``vmguard rules`` and policy
checks can list them without loading SQLAlchemy.
"""

from __future__ import annotations

from vmguard.findings import Rule, Severity, Threat


def _rule(rule_id: str, title: str, severity: Severity, remediation: str) -> Rule:
    return Rule(rule_id, title, severity, Threat.GUEST_TO_GUEST, remediation)


SHARED_RULES: dict[str, Rule] = {
    "ssh-host-key": _rule(
        "fleet.shared-ssh-host-key",
        "SSH host key shared by several images",
        Severity.HIGH,
        "Delete /etc/ssh/ssh_host_* from the template and let each instance generate its own "
        "at first boot; rotate the key on every running clone.",
    ),
    "authorized-key": _rule(
        "fleet.shared-authorized-key",
        "authorized_keys entry shared by several images",
        Severity.MEDIUM,
        "Inject login keys per instance at boot (cloud-init, metadata service) instead of "
        "baking one into every image.",
    ),
    "password-hash": _rule(
        "fleet.shared-password-hash",
        "Same password hash in several images",
        Severity.HIGH,
        "Lock the account in the template (passwd -l) and set per-instance credentials at "
        "first boot; change the password on every running clone.",
    ),
    "private-key": _rule(
        "fleet.shared-private-key",
        "Same private key in several images",
        Severity.HIGH,
        "Remove the key from every image and revoke it; give each instance its own key.",
    ),
    "cloud-credential": _rule(
        "fleet.shared-cloud-credential",
        "Same cloud credential in several images",
        Severity.CRITICAL,
        "Revoke the credential now, remove it from every image, and give instances "
        "short-lived role credentials (instance profiles, workload identity).",
    ),
    "credential": _rule(
        "fleet.shared-credential",
        "Same credential in several images",
        Severity.HIGH,
        "Revoke the credential, remove it from every image, and provision secrets per "
        "instance at boot.",
    ),
}
"""Secret kind (as the fleet database records it) -> the rule its findings report by."""
