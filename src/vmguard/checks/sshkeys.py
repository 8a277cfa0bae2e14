"""authorized_keys left in a template: whoever holds the key logs into every clone."""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
from collections.abc import Iterable

from vmguard.checks.interface import FileContent
from vmguard.findings import Finding, Rule, SecretKind, Severity, Threat
from vmguard.text import printable

AUTHORIZED_KEY = Rule(
    "ssh.authorized-key-leftover",
    "authorized_keys entry baked into the image",
    Severity.MEDIUM,
    Threat.GUEST_TO_GUEST,
    "Remove authorized_keys from the image and inject keys per instance at boot "
    "(cloud-init ssh_authorized_keys, or your cloud's metadata service).",
    rationale="Whoever holds the matching private key logs into every machine started from "
    "the image, long after the image's author has forgotten the key was there.",
    shares=SecretKind.AUTHORIZED_KEY,
)
_KEY_TYPES = (b"ssh-", b"ecdsa-", b"sk-")


def fingerprint(blob_b64: bytes) -> str | None:
    """OpenSSH's SHA256 fingerprint of a base64 public key blob."""
    try:
        blob = base64.b64decode(blob_b64, validate=True)
    except (binascii.Error, ValueError):
        return None
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


class AuthorizedKeys:
    """``PathCheck`` over ~/.ssh/authorized_keys files."""

    rules: tuple[Rule, ...] = (AUTHORIZED_KEY,)

    def wants(self, path: str) -> bool:
        """authorized_keys and authorized_keys2 in any home."""
        return fnmatch.fnmatch(path, "*/.ssh/authorized_keys*")

    def check(self, content: FileContent) -> Iterable[Finding]:
        """One finding per key (public keys are not secret: type, fingerprint, comment)."""
        for number, line in enumerate(content.data.splitlines()[:1000], 1):
            fields = line.split()
            start = next((i for i, f in enumerate(fields) if f.startswith(_KEY_TYPES)), None)
            if start is None or start + 1 >= len(fields):
                continue
            fp = fingerprint(fields[start + 1])
            if fp is None:
                continue
            comment = printable(b" ".join(fields[start + 2 :]), 60)
            yield AUTHORIZED_KEY.finding(
                content.path,
                f"{fields[start].decode(errors='replace')} {fp} {comment}".strip(),
                line=number,
                public_key=fp,
            )
