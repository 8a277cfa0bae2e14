"""The fleet's own rules: the same secret found in several images (threat guest-to-guest).

Kept apart from ``correlation`` (which needs the database) so ``vmguard rules`` and policy
checks can list them without loading SQLAlchemy.
"""

from __future__ import annotations

from vmguard.findings import Rule, SecretKind, Severity, Threat


def _rule(rule_id: str, title: str, severity: Severity, remediation: str, rationale: str) -> Rule:
    return Rule(rule_id, title, severity, Threat.GUEST_TO_GUEST, remediation, rationale=rationale)


SHARED_RULES: dict[SecretKind, Rule] = {
    SecretKind.SSH_HOST_KEY: _rule(
        "fleet.shared-ssh-host-key",
        "SSH host key shared by several images",
        Severity.HIGH,
        "Delete /etc/ssh/ssh_host_* from the template and let each instance generate its own "
        "at first boot; rotate the key on every running clone.",
        "Clones that present the same host key can impersonate one another: whoever reads the "
        "key from one image can intercept SSH sessions to all of them without a warning.",
    ),
    SecretKind.AUTHORIZED_KEY: _rule(
        "fleet.shared-authorized-key",
        "authorized_keys entry shared by several images",
        Severity.MEDIUM,
        "Inject login keys per instance at boot (cloud-init, metadata service) instead of "
        "baking one into every image.",
        "One key pair logs into every image that carries the entry: losing that key, or the "
        "person who holds it leaving, opens or strands the whole fleet at once.",
    ),
    SecretKind.PASSWORD_HASH: _rule(
        "fleet.shared-password-hash",
        "Same password hash in several images",
        Severity.HIGH,
        "Lock the account in the template (passwd -l) and set per-instance credentials at "
        "first boot; change the password on every running clone.",
        "A password cracked from one image, or learnt on one machine, logs into every image "
        "that shares the hash.",
    ),
    SecretKind.PRIVATE_KEY: _rule(
        "fleet.shared-private-key",
        "Same private key in several images",
        Severity.HIGH,
        "Remove the key from every image and revoke it; give each instance its own key.",
        "A private key copied into several images is only as safe as the least protected of "
        "them, and revoking it breaks every one at once.",
    ),
    SecretKind.CLOUD_CREDENTIAL: _rule(
        "fleet.shared-cloud-credential",
        "Same cloud credential in several images",
        Severity.CRITICAL,
        "Revoke the credential now, remove it from every image, and give instances "
        "short-lived role credentials (instance profiles, workload identity).",
        "A cloud credential in many images multiplies the places it can leak from, and one "
        "leak hands over the cloud account the key belongs to.",
    ),
    SecretKind.CREDENTIAL: _rule(
        "fleet.shared-credential",
        "Same credential in several images",
        Severity.HIGH,
        "Revoke the credential, remove it from every image, and provision secrets per "
        "instance at boot.",
        "A credential shared by several images leaks with any one of them, and cannot be "
        "rotated for one image without breaking the others.",
    ),
}
"""Secret kind (its value is what the fleet database records) -> the rule its findings
report by."""
