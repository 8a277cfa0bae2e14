"""Validators: turn a pattern match into a verdict, beyond the regex.

Key material is parsed (``cryptography``), token checksums are computed, entropy and
placeholders (``<your-key>``, ``${VAR}``, ``EXAMPLE``) are weighed. A validator returns
``None`` to drop a candidate; it never returns the secret itself, only redacted evidence.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
import zlib
from collections import Counter
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from vmguard.checks.redact import redact
from vmguard.findings import Severity

_PLACEHOLDER = re.compile(
    rb"(?i)(example|your[_-]?|placeholder|dummy|redacted|changeme|sample|fake|xxxxxx|\*\*\*\*|"
    rb"####|\xe2\x80\xa6|"
    rb"<[a-z_ -]+>|\$\{|\{\{|%\(|00000000|12345678)"
)
_MAX_PEM = 64 * 1024


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a validator concluded about one candidate."""

    evidence: str
    severity: Severity | None = None
    """Overrides the rule's severity (e.g. an encrypted key is low)."""
    title: str | None = None
    secret: bytes = b""
    """The raw secret, kept only in memory for cross-image correlation digests."""
    extent: tuple[int, int] | None = None
    """Window offsets of everything the verdict covers, when more than the match (a whole
    manifest): generic matches inside it are the same secrets again."""


def is_placeholder(value: bytes) -> bool:
    """True for template values that are not secrets."""
    return bool(_PLACEHOLDER.search(value))


def entropy(value: bytes) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _key_kind(key: object) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return f"RSA-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"ECDSA-{key.curve.name}"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PrivateKey):
        return "Ed448"
    if isinstance(key, dsa.DSAPrivateKey):
        return "DSA"
    return type(key).__name__


def _fingerprint(key: object) -> str:
    public = key.public_key()  # type: ignore[attr-defined]
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return base64.b64encode(digest.finalize()).decode().rstrip("=")[:16]


def validate_pem_key(data: bytes, start: int) -> Verdict | None:
    """A PEM / OpenSSH private key block: parsed to tell real, encrypted and broken apart."""
    head_end = data.find(b"-----", start + 11)
    if head_end < 0:
        return None
    header = data[start : head_end + 5]
    label = header[11:-5].strip()
    end_marker = b"-----END " + label + b"-----"
    end = data.find(end_marker, head_end, start + _MAX_PEM)
    if end < 0:
        return None
    block = data[start : end + len(end_marker)]
    name = header.decode("ascii", "replace")
    if b"ENCRYPTED" in label or b"Proc-Type: 4,ENCRYPTED" in block:
        return Verdict(
            f"{name} [redacted; passphrase-protected]",
            Severity.LOW,
            "Passphrase-protected private key",
            block,
        )
    try:
        # Consistency checks of RSA keys (primality of p and q) cost 20-130 ms per key and
        # prove nothing here: the key is reported for what it is, not used.
        if label == b"OPENSSH PRIVATE KEY":
            key: object = serialization.load_ssh_private_key(
                block, password=None, unsafe_skip_rsa_key_validation=True
            )
        else:
            key = serialization.load_pem_private_key(
                block, password=None, unsafe_skip_rsa_key_validation=True
            )
    except TypeError:
        return Verdict(
            f"{name} [redacted; passphrase-protected]",
            Severity.LOW,
            "Passphrase-protected private key",
            block,
        )
    except (ValueError, binascii.Error):
        return _unparsed_key(name, block)
    except Exception:  # cryptography raises UnsupportedAlgorithm and friends
        return _unparsed_key(name, block)
    return Verdict(
        f"{name} [redacted; unencrypted {_key_kind(key)} key, public SHA256:{_fingerprint(key)}]",
        secret=block,
    )


def _unparsed_key(name: str, block: bytes) -> Verdict | None:
    body = b"".join(line for line in block.splitlines()[1:-1] if b":" not in line)
    if len(body) < 64 or is_placeholder(body):
        return None  # truncated snippets and documentation, not key material
    return Verdict(
        f"{name} [redacted; key material that does not parse]", Severity.MEDIUM, secret=block
    )


def validate_putty(data: bytes, start: int) -> Verdict | None:
    """A PuTTY .ppk key: its Encryption header says whether it is protected."""
    head = data[start : start + 512]
    m = re.search(rb"Encryption: ([\w-]+)", head)
    if m is None:
        return None
    version = head[22:23].decode("ascii", "replace")
    if m.group(1) != b"none":
        return Verdict(
            f"PuTTY-User-Key-File-{version} [redacted; passphrase-protected]",
            Severity.LOW,
            "Passphrase-protected private key",
            head,
        )
    return Verdict(f"PuTTY-User-Key-File-{version} [redacted; unencrypted]", secret=head)


_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def github_checksum(random_part: str) -> str:
    """The 6-character base62 CRC32 GitHub appends to a token's 30 random characters."""
    value = zlib.crc32(random_part.encode())
    digits = ""
    while value:
        value, r = divmod(value, 62)
        digits = _B62[r] + digits
    return digits.rjust(6, "0")


def github_checksum_ok(token: str) -> bool:
    """GitHub's token format ends in a base62 CRC32 of the 30 random characters."""
    return github_checksum(token[4:34]) == token[34:40]


def validate_token(value: bytes, *, min_entropy: float = 3.0) -> Verdict | None:
    """A vendor token: dropped when it is a placeholder or too regular to be random."""
    if is_placeholder(value) or entropy(value) < min_entropy:
        return None
    return Verdict(redact(value.decode("ascii", "replace")), secret=value)


def validate_github(value: bytes) -> Verdict | None:
    """A GitHub token; classic formats carry a checksum that must match."""
    token = value.decode("ascii", "replace")
    if is_placeholder(value):
        return None
    if token.startswith("github_pat_") or github_checksum_ok(token):
        return Verdict(redact(token), secret=value)
    if entropy(value) < 3.5:
        return None
    return Verdict(
        redact(token) + " (checksum does not match: unverified)", Severity.MEDIUM, secret=value
    )


def _b64json(part: bytes) -> object:
    return json.loads(base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4)))


def validate_jwt(value: bytes, now: float | None = None) -> Verdict | None:
    """A JSON Web Token: header and payload must decode to JSON objects, the header naming an
    algorithm. Unsigned (``alg: none``) and expired tokens are low; jwt.io's sample is
    public."""
    try:
        head, body = value.split(b".", 2)[:2]
        header, payload = _b64json(head), _b64json(body)
    except (ValueError, binascii.Error):
        return None
    if not isinstance(header, dict) or "alg" not in header or not isinstance(payload, dict):
        return None
    alg = str(header.get("alg"))[:16]
    shown = f"JWT (alg {alg}) {redact(value.decode('ascii', 'replace'), keep=8)}"
    if payload.get("sub") == "1234567890" and payload.get("name") == "John Doe":
        return Verdict(
            f"{shown} (known public value: jwt.io sample token)", Severity.INFO, secret=value
        )
    if alg.lower() == "none":
        return Verdict(f"{shown} (unsigned)", Severity.LOW, secret=value)
    expiry = payload.get("exp")
    if isinstance(expiry, int | float) and expiry < (time.time() if now is None else now):
        when = time.strftime("%Y-%m-%d", time.gmtime(max(0, min(expiry, 2**31))))
        return Verdict(f"{shown} (expired {when})", Severity.LOW, secret=value)
    return Verdict(shown, secret=value)


def validate_gcp_service_account(data: bytes, start: int) -> Verdict | None:
    """A GCP service-account key file: JSON with a private_key that parses."""
    opening = data.rfind(b"{", max(0, start - 4096), start)
    closing = data.find(b"}", start, start + 16384)
    if opening < 0 or closing < 0:
        return None
    # private_key contains no braces; the object ends at the first } after the key.
    try:
        document = json.loads(data[opening : closing + 1])
    except ValueError:
        return None
    key = document.get("private_key", "") if isinstance(document, dict) else ""
    email = str(document.get("client_email", ""))[:120] if isinstance(document, dict) else ""
    if not isinstance(key, str) or "PRIVATE KEY" not in key:
        return None
    verdict = validate_pem_key(key.encode(), key.find("-----BEGIN"))
    if verdict is None or verdict.severity is not None:
        return None
    return Verdict(
        f"service account {email or '?'} with private key [redacted]", secret=key.encode()
    )
