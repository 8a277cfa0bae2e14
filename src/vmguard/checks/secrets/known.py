"""Values that look like credentials but are not secret: published samples and masks.

Emulator keys and documentation samples are public, so a match is reported at ``info`` with
the reason (an image carrying them is configured for an emulator or copied from docs, which
a triager may still want to know); masked tokens (``xoxp-…-####``) are no credential at all.
The public values are held as SHA-256 digests so this module is no sample itself.
"""

from __future__ import annotations

import hashlib
import re

_PUBLIC: dict[str, str] = {
    "0011cc25eb4320717494d2703e8cba85743e71b500283c21c8b88147992f9059": (
        "Azurite storage emulator key (devstoreaccount1), published by Microsoft"
    ),
    "2cafc0970149a84f3b9e62eaf169f36f59907a3b3e31f7b82e68c69cd27f7326": (
        "Stripe documentation sample key"
    ),
    "f2d6ca16515033e5dce14eba840b979d27b5cbae24bb3e5bf484339667f86397": (
        "Stripe documentation sample key"
    ),
    "1a5d44a2dca19669d72edf4c4f1c27c4c1ca4b4408fbb17f6ce4ad452d78ddb3": (
        "AWS documentation sample access key id"
    ),
    "78314b11be2e581549ac1c4f616563fad3fdf0c3b71678f6e2299182080e0598": (
        "AWS documentation sample secret key"
    ),
}

_MASKED = re.compile(rb"#{3,}|\*{3,}|\xe2\x80\xa6|\.{3}|[xX]{6,}|(?:-x{3,}){2}|_{6,}|\?{4,}")


def public_reason(secret: bytes) -> str | None:
    """Why a credential-shaped value is public knowledge, or None when it is not known."""
    return _PUBLIC.get(hashlib.sha256(secret).hexdigest())


def is_masked(value: bytes) -> bool:
    """True for tokens with their secret part masked out (``####``, ``***``, ``…``)."""
    return _MASKED.search(value) is not None
