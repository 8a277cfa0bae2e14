"""Offline structural checks of provider tokens: checksums and decodings, run on matches only.

A check confirms what a format guarantees (GitHub's and npm's CRC32, age's bech32, a PyPI
macaroon's location, the JSON inside a Grafana token) and returns ``None`` for a match that
only looks like the format. It never contacts a provider and never returns the secret.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from vmguard.checks.secrets.validators import github_checksum, validate_jwt
from vmguard.findings import Severity


@dataclass(frozen=True, slots=True)
class Structure:
    """What a structural check learnt about a token."""

    note: str = ""
    """Added to the evidence (never secret: ``checksum valid``, ``macaroon for pypi.org``)."""
    severity: Severity | None = None
    """Overrides the rule's severity (an unverifiable checksum is medium, a public key info)."""


StructureCheck = Callable[[bytes, bytes, int], Structure | None]
"""(secret, window bytes, offset of the secret in the window) -> what is known, or None."""


def _b64(text: bytes) -> bytes:
    text = text.rstrip(b"=")
    return base64.urlsafe_b64decode(
        text.replace(b"+", b"-").replace(b"/", b"_") + b"=" * (-len(text) % 4)
    )


def _crc_token(secret: bytes, prefix_len: int) -> Structure:
    token = secret.decode("ascii", "replace")
    body = token[prefix_len:]
    if len(body) == 36 and github_checksum(body[:30]) == body[30:]:
        return Structure("checksum valid")
    return Structure("checksum does not match: unverified", Severity.MEDIUM)


def _github(secret: bytes, data: bytes, at: int) -> Structure | None:
    return _crc_token(secret, 4)


def _npm(secret: bytes, data: bytes, at: int) -> Structure | None:
    return _crc_token(secret, 4)


def _varint(raw: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while pos < len(raw) and shift < 35:
        byte = raw[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise ValueError("truncated varint")


def _pypi(secret: bytes, data: bytes, at: int) -> Structure | None:
    """A PyPI token is ``pypi-`` and a base64url version-2 macaroon: location, identifier."""
    try:
        raw = _b64(secret[5:])
        if raw[:1] != b"\x02":
            return None
        fields: dict[int, bytes] = {}
        pos = 1
        while pos < len(raw) and len(fields) < 3:
            kind, pos = _varint(raw, pos)
            if kind == 0:
                break
            size, pos = _varint(raw, pos)
            fields[kind] = raw[pos : pos + size]
            pos += size
    except (ValueError, binascii.Error):
        return None
    location = fields.get(1, b"")
    if location not in (b"pypi.org", b"test.pypi.org") or not fields.get(2):
        return None
    return Structure(f"macaroon for {location.decode()}")


_SAME_DIGIT = re.compile(rb"^(\d)\1+$")


def _slack(secret: bytes, data: bytes, at: int) -> Structure | None:
    """Slack's numeric team/user segments are never one repeated digit or a counting run."""
    for part in re.split(rb"[-/]", secret):
        if (
            len(part) >= 6
            and part.isdigit()
            and (_SAME_DIGIT.match(part) or part in b"12345678901234567890")
        ):
            return None
    return Structure()


def _stripe(secret: bytes, data: bytes, at: int) -> Structure | None:
    body = secret.split(b"_", 2)[-1]
    if len(set(body)) < 10 or re.fullmatch(rb"[a-f0-9]{40}", body):
        return None  # a Paystack key has Stripe's prefixes and 40 hex digits
    return Structure("test mode" if b"_test_" in secret else "live mode")


def _discord(secret: bytes, data: bytes, at: int) -> Structure | None:
    """A Discord bot token starts with the bot's user id (a snowflake) in base64."""
    try:
        user = _b64(secret.split(b".", 1)[0])
    except (ValueError, binascii.Error):
        return None
    return Structure() if user.isdigit() and 15 <= len(user) <= 20 else None


def _grafana(secret: bytes, data: bytes, at: int) -> Structure | None:
    """Grafana Cloud (``glc_``) and legacy API keys are base64 JSON naming the key."""
    body = secret[4:] if secret.startswith(b"glc_") else secret
    try:
        document = json.loads(_b64(body))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(document, dict) or "k" not in document:
        return None
    return Structure(f"key name {str(document.get('n', '?'))[:40]!r}")


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32_ok(text: str) -> bool:
    hrp, _, payload = text.lower().rpartition("1")
    values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    values += [_BECH32.index(c) for c in payload]
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
            if (top >> i) & 1:
                check ^= gen
    return check == 1


def _age(secret: bytes, data: bytes, at: int) -> Structure | None:
    return Structure("bech32 checksum valid") if _bech32_ok(secret.decode("ascii")) else None


def _azure_storage(secret: bytes, data: bytes, at: int) -> Structure | None:
    if b"devstoreaccount1" in data[max(0, at - 512) : at + 512]:
        return Structure(
            "known public value: storage emulator account devstoreaccount1", Severity.INFO
        )
    return Structure()


_NOT_PASSWORDS = frozenset(
    (b"password", b"passwd", b"pass", b"pwd", b"secret", b"changeme", b"pass123", b"mypassword")
)
_DOC_HOSTS = re.compile(rb"@(?:[\w.-]*\.)?example\.(?:com|org|net)\b|@host\b|@hostname\b")


def _url_password(secret: bytes, data: bytes, at: int) -> Structure | None:
    """A password in a URL; documentation hosts and the word "password" are not leaks."""
    if secret.lower() in _NOT_PASSWORDS or secret[:1] in b"$%{<[*":
        return None
    if _DOC_HOSTS.match(data, at + len(secret)):
        return None
    return Structure()


def _basic_auth(secret: bytes, data: bytes, at: int) -> Structure | None:
    """``Authorization: Basic`` carries base64 ``user:password``."""
    try:
        user, sep, password = base64.b64decode(secret, validate=True).partition(b":")
    except (binascii.Error, ValueError):
        return None
    if not sep or not password or _url_password(password, b"", 0) is None:
        return None
    return Structure(f"user {user.decode('utf-8', 'replace')[:40]!r}")


def _jwt_base64(secret: bytes, data: bytes, at: int) -> Structure | None:
    """A JWT, base64-encoded again (Kubernetes Secret data, CI variables)."""
    try:
        inner = base64.b64decode(secret + b"=" * (-len(secret) % 4))
    except (binascii.Error, ValueError):
        return None
    verdict = validate_jwt(inner.strip())
    if verdict is None:
        return None
    return Structure("decodes to a JWT", verdict.severity)


CHECKS: dict[str, StructureCheck] = {
    "github": _github,
    "npm": _npm,
    "pypi": _pypi,
    "slack": _slack,
    "stripe": _stripe,
    "discord": _discord,
    "grafana": _grafana,
    "age": _age,
    "azure-storage": _azure_storage,
    "url-password": _url_password,
    "basic-auth": _basic_auth,
    "jwt-base64": _jwt_base64,
}
"""The structural checks a table row may name (``check = "..."``)."""


def aws_account(key_id: bytes) -> str:
    """``, account 123456789012``: the AWS account an access key id encodes (base32, bits
    1..39 of its first six bytes after the four-letter prefix), or "" when it does not decode."""
    try:
        raw = base64.b32decode(key_id[4:20])
    except (binascii.Error, ValueError):
        return ""
    account = (int.from_bytes(raw[:6], "big") & 0x7FFFFFFFFF80) >> 7
    return f", account {account:012d}"
