"""The secret rule table: one row per kind of secret — a rule, a yara-x regex, a validator.

Rules are data (as in Trivy's secret rules); the regexes are compiled into one yara-x ruleset
so a single pass over each file finds every candidate.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from vmguard.checks.redact import redact
from vmguard.checks.secrets.validators import (
    Verdict,
    entropy,
    is_placeholder,
    validate_gcp_service_account,
    validate_github,
    validate_jwt,
    validate_pem_key,
    validate_putty,
    validate_token,
)
from vmguard.findings import Rule, Severity, Threat

Validator = Callable[[bytes, int, bytes], Verdict | None]
"""(window bytes, match offset, matched bytes) -> verdict or None to drop."""

_ROTATE = (
    "Revoke and rotate it, remove it from the image, and rebuild the image from a clean build."
)
_EXPOSURE = Threat.IMAGE_EXPOSURE


def _rule(rule_id: str, title: str, severity: Severity, *refs: str) -> Rule:
    return Rule(rule_id, title, severity, _EXPOSURE, _ROTATE, refs)


@dataclass(frozen=True, slots=True)
class SecretPattern:
    """One kind of secret."""

    rule: Rule
    regex: str
    """yara-x regular expression (no slashes)."""
    validate: Validator


_AWS_SECRET = re.compile(rb"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")


def _aws(data: bytes, start: int, match: bytes) -> Verdict | None:
    if is_placeholder(match):
        return None
    around = data[max(0, start - 1024) : start + 1024]
    secrets = [s for s in _AWS_SECRET.findall(around) if entropy(s) > 4.0 and not is_placeholder(s)]
    key_id = match.decode("ascii")
    if secrets:
        # The fingerprint is the secret key's, so the credential-file finding for the same
        # ~/.aws/credentials line folds into this one.
        return Verdict(
            f"access key id {redact(key_id, keep=8)} with secret key {redact(secrets[0].decode())}",
            secret=secrets[0],
        )
    return Verdict(
        f"access key id {redact(key_id, keep=8)} (no secret key nearby)",
        Severity.MEDIUM,
        "AWS access key id",
        secret=match,
    )


_AZURE_SECRET = re.compile(
    rb"(?<![A-Za-z0-9_~.\-])[A-Za-z0-9_~.\-]{3}8Q~[A-Za-z0-9_~.\-]{31,34}(?![A-Za-z0-9_~.\-])"
)


def _azure_client_secret(data: bytes, start: int) -> Verdict | None:
    m = _AZURE_SECRET.match(data, max(0, start - 3), start + 40)
    if m is None or m.start() != start - 3:
        return None
    return validate_token(m.group(0), min_entropy=3.5)


def _value(min_entropy: float = 3.0) -> Validator:
    return lambda data, start, match: validate_token(match, min_entropy=min_entropy)


PEM_KEY = SecretPattern(
    _rule(
        "secret.private-key",
        "Unencrypted private key",
        Severity.HIGH,
        "https://cwe.mitre.org/data/definitions/321.html",
    ),
    r"-----BEGIN ([A-Z0-9]{1,16} ){0,3}PRIVATE KEY( BLOCK)?-----",
    lambda data, start, match: validate_pem_key(data, start),
)

SECRET_PATTERNS: tuple[SecretPattern, ...] = (
    PEM_KEY,
    SecretPattern(
        _rule("secret.putty-key", "PuTTY private key", Severity.HIGH),
        r"PuTTY-User-Key-File-[23]: ",
        lambda data, start, match: validate_putty(data, start),
    ),
    SecretPattern(
        _rule(
            "secret.aws-access-key",
            "AWS access key pair",
            Severity.CRITICAL,
            "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html",
        ),
        r"\b(AKIA|ASIA)[A-Z2-7]{16}\b",
        _aws,
    ),
    SecretPattern(
        _rule(
            "secret.gcp-service-account",
            "GCP service-account key",
            Severity.CRITICAL,
            "https://cloud.google.com/iam/docs/keys-create-delete",
        ),
        r"\"type\"\s*:\s*\"service_account\"",
        lambda data, start, match: validate_gcp_service_account(data, start),
    ),
    SecretPattern(
        _rule("secret.azure-storage-key", "Azure storage account key", Severity.CRITICAL),
        r"AccountKey=[A-Za-z0-9+/]{86}==",
        _value(4.0),
    ),
    SecretPattern(
        _rule("secret.azure-client-secret", "Azure AD client secret", Severity.HIGH),
        # yara-x is ten times slower on the full character class: find the fixed marker
        # there, and the whole secret in _azure_client_secret.
        r"8Q~",
        lambda data, start, match: _azure_client_secret(data, start),
    ),
    SecretPattern(
        _rule(
            "secret.github-token",
            "GitHub token",
            Severity.HIGH,
            "https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/",
        ),
        r"\b(gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b",
        lambda data, start, match: validate_github(match),
    ),
    SecretPattern(
        _rule("secret.gitlab-token", "GitLab token", Severity.HIGH),
        r"\bglpat-[A-Za-z0-9_\-]{20}\b",
        _value(3.0),
    ),
    SecretPattern(
        _rule("secret.slack-token", "Slack token", Severity.HIGH),
        r"\bxox[baprs]-[0-9A-Za-z]{8,}-[0-9A-Za-z-]{8,}",
        _value(3.0),
    ),
    SecretPattern(
        _rule("secret.stripe-key", "Stripe live secret key", Severity.HIGH),
        r"\b[rs]k_live_[0-9A-Za-z]{24,99}\b",
        _value(3.5),
    ),
    SecretPattern(
        _rule("secret.jwt", "JSON Web Token", Severity.MEDIUM),
        r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}",
        lambda data, start, match: validate_jwt(match),
    ),
    SecretPattern(
        _rule("secret.bearer-token", "Bearer token in a file", Severity.HIGH),
        r"[Bb]earer [A-Za-z0-9_\-.~+/]{24,}=*",
        lambda data, start, match: validate_token(match[7:], min_entropy=3.5),
    ),
)
