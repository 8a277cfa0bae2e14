"""Redaction: evidence shows what a secret is and where, never the secret itself.

The one redaction of vmguard: ``scan``, ``host``, ``audit`` (configuration rules) and fleet
evidence all show a secret as ``redact`` does, so every output format shows the same shape.
Public API: ``redact(secret)``, ``secret_digest(secret)``. Never return a secret whole.
"""

from __future__ import annotations

import hashlib

from vmguard.text import printable

_KEEP = 4


def redact(secret: str | bytes, *, keep: int = _KEEP) -> str:
    """``ghp_…[redacted, 40 chars, sha256:1a2b3c4d]``: a short prefix, the length, and — for
    long random secrets only — a digest prefix so two findings of the same secret can be
    matched. Short or guessable values get no digest: it would be a cracking oracle."""
    raw = secret.encode("utf-8", "surrogateescape") if isinstance(secret, str) else secret
    text = raw.decode("utf-8", "replace")
    keep = min(keep, max(0, len(text) // 4))
    shown = printable(text[:keep])
    if len(raw) >= 20 and len(set(raw)) >= 12:
        return (
            f"{shown}…[redacted, {len(text)} chars, sha256:{hashlib.sha256(raw).hexdigest()[:8]}]"
        )
    return f"{shown}…[redacted, {len(text)} chars]"


def secret_digest(secret: str | bytes) -> str:
    """A stable digest of a secret, for correlating findings across images."""
    raw = secret.encode("utf-8", "surrogateescape") if isinstance(secret, str) else secret
    return hashlib.sha256(raw).hexdigest()
