"""Every secret pattern: the coded ones (key material and documents that need parsing), the
credential table (``table.py``, one data row per credential type) and the generic
assignments (``generic.py``), compiled into one yara-x ruleset so a single pass over each
file finds every candidate.
"""

from __future__ import annotations

import re

from vmguard.checks.redact import redact
from vmguard.checks.secrets.generic import generic_patterns
from vmguard.checks.secrets.kubernetes import validate_kubernetes_secret
from vmguard.checks.secrets.model import SecretPattern, Specificity
from vmguard.checks.secrets.structure import aws_account
from vmguard.checks.secrets.table import table_patterns
from vmguard.checks.secrets.validators import (
    Verdict,
    entropy,
    is_placeholder,
    validate_gcp_service_account,
    validate_jwt,
    validate_pem_key,
    validate_putty,
    validate_token,
)
from vmguard.findings import Rule, SecretKind, Severity, Threat

_ROTATE = (
    "Revoke and rotate it, remove it from the image, and rebuild the image from a clean build."
)
_EXPOSURE = Threat.IMAGE_EXPOSURE


def _rule(
    rule_id: str,
    title: str,
    severity: Severity,
    rationale: str,
    *refs: str,
    shares: SecretKind = SecretKind.CREDENTIAL,
    generic: bool = False,
    spans_lines: bool = False,
) -> Rule:
    return Rule(
        rule_id,
        title,
        severity,
        _EXPOSURE,
        _ROTATE,
        refs,
        rationale=rationale,
        shares=shares,
        generic=generic,
        spans_lines=spans_lines,
    )


_KEY_RATIONALE = (
    "An unencrypted private key in an image lets anyone who obtains the image act as its "
    "owner: decrypt what it protects, sign as it, or log into every server that trusts it."
)
_CLOUD_RATIONALE = (
    "A cloud credential in an image gives whoever copies the image the account's power: "
    "reading data, starting machines at the owner's cost, or deleting the infrastructure."
)


_AWS_SECRET = re.compile(rb"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")


def _aws(data: bytes, start: int, match: bytes) -> Verdict | None:
    if is_placeholder(match):
        return None
    account = aws_account(match)
    around = data[max(0, start - 1024) : start + 1024]
    secrets = [s for s in _AWS_SECRET.findall(around) if entropy(s) > 4.0 and not is_placeholder(s)]
    key_id = match.decode("ascii")
    if secrets:
        # The fingerprint is the secret key's, so the credential-file finding for the same
        # ~/.aws/credentials line folds into this one.
        return Verdict(
            f"access key id {redact(key_id, keep=8)}{account} with secret key "
            f"{redact(secrets[0].decode())}",
            secret=secrets[0],
        )
    return Verdict(
        f"access key id {redact(key_id, keep=8)}{account} (no secret key nearby)",
        Severity.MEDIUM,
        "AWS access key id",
        secret=match,
    )


_AZURE_SECRET = re.compile(
    rb"(?<![A-Za-z0-9_~.\-])[A-Za-z0-9_~.\-]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34}(?![A-Za-z0-9_~.\-])"
)


def _azure_client_secret(data: bytes, start: int) -> Verdict | None:
    m = _AZURE_SECRET.match(data, max(0, start - 3), start + 40)
    if m is None or m.start() != start - 3:
        return None
    return validate_token(m.group(0), min_entropy=3.5)


PEM_KEY = SecretPattern(
    _rule(
        "secret.private-key",
        "Unencrypted private key",
        Severity.HIGH,
        _KEY_RATIONALE,
        "https://cwe.mitre.org/data/definitions/321.html",
        shares=SecretKind.PRIVATE_KEY,
        spans_lines=True,
    ),
    r"-----BEGIN ([A-Z0-9]{1,16} ){0,3}PRIVATE KEY( BLOCK)?-----",
    lambda data, start, match: validate_pem_key(data, start),
    Specificity.STRUCTURED,
)

CODED_PATTERNS: tuple[SecretPattern, ...] = (
    PEM_KEY,
    SecretPattern(
        _rule(
            "secret.putty-key",
            "PuTTY private key",
            Severity.HIGH,
            _KEY_RATIONALE,
            shares=SecretKind.PRIVATE_KEY,
            spans_lines=True,
        ),
        r"PuTTY-User-Key-File-[23]: ",
        lambda data, start, match: validate_putty(data, start),
        Specificity.STRUCTURED,
    ),
    SecretPattern(
        _rule(
            "secret.aws-access-key",
            "AWS access key pair",
            Severity.CRITICAL,
            _CLOUD_RATIONALE,
            "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html",
            shares=SecretKind.CLOUD_CREDENTIAL,
            spans_lines=True,
        ),
        r"\b(AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b",
        _aws,
        Specificity.STRUCTURED,
        "cloud",
    ),
    SecretPattern(
        _rule(
            "secret.gcp-service-account",
            "GCP service-account key",
            Severity.CRITICAL,
            _CLOUD_RATIONALE,
            "https://cloud.google.com/iam/docs/keys-create-delete",
            shares=SecretKind.CLOUD_CREDENTIAL,
            spans_lines=True,
        ),
        r"\"type\"\s*:\s*\"service_account\"",
        lambda data, start, match: validate_gcp_service_account(data, start),
        Specificity.STRUCTURED,
        "cloud",
    ),
    SecretPattern(
        _rule(
            "secret.azure-client-secret",
            "Azure AD client secret",
            Severity.HIGH,
            _CLOUD_RATIONALE,
            shares=SecretKind.CLOUD_CREDENTIAL,
        ),
        # yara-x is ten times slower on the full character class: find the fixed marker
        # there, and the whole secret in _azure_client_secret.
        r"[0-9]Q~",
        lambda data, start, match: _azure_client_secret(data, start),
        Specificity.PREFIX,
        "cloud",
    ),
    SecretPattern(
        _rule(
            "secret.jwt",
            "JSON Web Token",
            Severity.MEDIUM,
            "A signed token is accepted as proof of identity until it expires: anyone who "
            "reads it from the image can call the service as the user it was issued to.",
        ),
        r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}",
        lambda data, start, match: validate_jwt(match),
        Specificity.KEYWORD,
    ),
    SecretPattern(
        _rule(
            "secret.bearer-token",
            "Bearer token in a file",
            Severity.HIGH,
            "Whoever presents a bearer token is served as its owner, with no further proof; "
            "a token left in a file works for anyone who copies the image.",
            generic=True,
        ),
        r"[Bb]earer [A-Za-z0-9_\-.~+/]{24,}=*",
        lambda data, start, match: validate_token(match[7:], min_entropy=3.5),
        Specificity.KEYWORD,
    ),
    SecretPattern(
        _rule(
            "secret.kubernetes-secret",
            "Kubernetes Secret manifest with values",
            Severity.HIGH,
            "A Secret manifest holds its values in base64, which is an encoding, not "
            "encryption: the passwords, tokens and keys it carries are readable by anyone.",
            "https://kubernetes.io/docs/concepts/configuration/secret/",
        ),
        r"[\"']?kind[\"']?\s{0,4}:\s{0,4}[\"']?Secret\b",
        lambda data, start, match: validate_kubernetes_secret(data, start),
        Specificity.STRUCTURED,
        "cloud",
    ),
)

SECRET_PATTERNS: tuple[SecretPattern, ...] = (
    *CODED_PATTERNS,
    *table_patterns(),
    *generic_patterns(),
)
"""Every secret pattern, in the order of the yara-x rules ``s<N>`` compiled from them."""
