"""DSSE envelopes carrying an in-toto Statement v1.

The envelope is ``{"payloadType", "payload", "signatures": [{"keyid", "sig"}]}`` and the
signature covers DSSE's pre-authentication encoding (PAE) of type and payload, so any DSSE
implementation (securesystemslib, in-toto, sigstore) can check it. A signature made with an
X.509 certificate carries the PEM chain, leaf first, in an extra ``cert`` field of the
signature object; DSSE verifiers that do not know the field ignore it.

Parsing is bounded (bytes, signatures, certificates, nesting) and a payload is parsed only
after its signature verified. Nothing here opens a file named by an envelope.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vmguard.integrity.errors import EnvelopeMalformed
from vmguard.integrity.keys import SigningKey
from vmguard.integrity.manifest import (
    PREDICATE_TYPE,
    FileRecord,
    Manifest,
    manifest_from_predicate,
    manifest_to_predicate,
)
from vmguard.userfiles import read_user_file

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
MAX_ENVELOPE = 256 * 1024 * 1024
MAX_SIGNATURES = 16
MAX_CERTS = 8
MAX_CERT_PEM = 64 * 1024


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True, slots=True)
class EnvelopeSignature:
    """One signature of an envelope."""

    keyid: str
    sig: bytes = field(repr=False)
    cert_chain: tuple[bytes, ...] = field(default=(), repr=False)
    """PEM certificates, leaf first (empty for a bare key)."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """A parsed, not yet verified, DSSE envelope."""

    payload_type: str
    payload: bytes = field(repr=False)
    signatures: tuple[EnvelopeSignature, ...]

    def signed_bytes(self) -> bytes:
        """What every signature covers."""
        return pae(self.payload_type, self.payload)


def _subjects(manifest: Manifest) -> list[dict[str, Any]]:
    files: list[FileRecord] = [f for d in manifest.disks for f in d.files]
    files += [d.file for d in manifest.definitions]
    return [{"name": f.name, "digest": {"sha256": f.sha256, "blake3": f.blake3}} for f in files]


def statement_bytes(manifest: Manifest) -> bytes:
    """The in-toto Statement v1 for a manifest, as compact JSON."""
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": _subjects(manifest),
        "predicateType": PREDICATE_TYPE,
        "predicate": manifest_to_predicate(manifest),
    }
    return json.dumps(statement, separators=(",", ":"), sort_keys=True).encode("utf-8")


def sign_envelope(payload: bytes, key: SigningKey, cert_chain: tuple[bytes, ...] = ()) -> bytes:
    """A DSSE envelope (JSON bytes) of ``payload`` signed by ``key``."""
    signature: dict[str, Any] = {
        "keyid": key.public.keyid,
        "sig": base64.b64encode(key.sign(pae(PAYLOAD_TYPE, payload))).decode("ascii"),
    }
    if cert_chain:
        signature["cert"] = b"".join(cert_chain).decode("ascii")
    envelope = {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [signature],
    }
    return json.dumps(envelope, indent=1).encode("utf-8") + b"\n"


_URLSAFE = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise EnvelopeMalformed(f"envelope {what} is not a string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        pass
    if not _URLSAFE.match(value):  # DSSE allows URL-safe base64 too, nothing else
        raise EnvelopeMalformed(f"envelope {what} is not base64")
    try:
        return base64.urlsafe_b64decode(value)
    except (binascii.Error, ValueError) as err:
        raise EnvelopeMalformed(f"envelope {what} is not base64") from err


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as err:
        raise EnvelopeMalformed(f"{what} is not JSON: {err}") from err


def _cert_chain(value: Any) -> tuple[bytes, ...]:
    if value is None:
        return ()
    if not isinstance(value, str) or len(value) > MAX_CERT_PEM * MAX_CERTS:
        raise EnvelopeMalformed("signature 'cert' is not a bounded PEM string")
    marker = "-----END CERTIFICATE-----"
    pems = [p + marker + "\n" for p in value.split(marker) if "-----BEGIN" in p]
    if not pems or len(pems) > MAX_CERTS:
        raise EnvelopeMalformed(f"signature 'cert' holds no or more than {MAX_CERTS} certificates")
    return tuple(p.strip().encode("ascii", "replace") + b"\n" for p in pems)


def read_envelope(path: Path, what: str) -> bytes:
    """The bytes of a signature file the user named (``what`` names it in errors), at most
    ``MAX_ENVELOPE``; ``UserFileError`` when it cannot be read or is larger."""
    return read_user_file(path, what, MAX_ENVELOPE)


def parse_envelope(data: bytes) -> Envelope:
    """Parse a DSSE envelope, bounded; the signatures are not checked here."""
    if len(data) > MAX_ENVELOPE:
        raise EnvelopeMalformed(f"signature file is larger than {MAX_ENVELOPE} bytes")
    doc = _json(data, "signature file")
    if not isinstance(doc, dict):
        raise EnvelopeMalformed("signature file is not a DSSE envelope object")
    payload_type = doc.get("payloadType")
    if payload_type != PAYLOAD_TYPE:
        raise EnvelopeMalformed(f"payloadType is not {PAYLOAD_TYPE}")
    raw_sigs = doc.get("signatures")
    if not isinstance(raw_sigs, list) or not raw_sigs or len(raw_sigs) > MAX_SIGNATURES:
        raise EnvelopeMalformed(f"envelope needs 1 to {MAX_SIGNATURES} signatures")
    signatures = []
    for raw in raw_sigs:
        if not isinstance(raw, dict):
            raise EnvelopeMalformed("envelope signature is not an object")
        keyid = raw.get("keyid", "")
        if not isinstance(keyid, str) or len(keyid) > 256:
            raise EnvelopeMalformed("envelope keyid is not a short string")
        sig = _b64(raw.get("sig"), "sig")
        if len(sig) > 4096:
            raise EnvelopeMalformed("envelope signature longer than 4096 bytes")
        signatures.append(EnvelopeSignature(keyid, sig, _cert_chain(raw.get("cert"))))
    return Envelope(payload_type, _b64(doc.get("payload"), "payload"), tuple(signatures))


@dataclass(frozen=True, slots=True)
class Statement:
    """A verified statement's subjects and manifest."""

    subjects: tuple[tuple[str, dict[str, str]], ...]
    manifest: Manifest


def parse_statement(payload: bytes) -> Statement:
    """Parse a verified payload as an in-toto Statement v1 with a vmguard manifest."""
    doc = _json(payload, "signed statement")
    if not isinstance(doc, dict) or doc.get("_type") != STATEMENT_TYPE:
        raise EnvelopeMalformed(f"signed payload is not an in-toto {STATEMENT_TYPE}")
    if doc.get("predicateType") != PREDICATE_TYPE:
        raise EnvelopeMalformed(f"predicateType is not {PREDICATE_TYPE}")
    manifest = manifest_from_predicate(doc.get("predicate"))
    raw_subjects = doc.get("subject")
    if not isinstance(raw_subjects, list):
        raise EnvelopeMalformed("statement has no subject list")
    subjects = []
    for s in raw_subjects[:1024]:
        if not isinstance(s, dict) or not isinstance(s.get("digest"), dict):
            raise EnvelopeMalformed("statement subject is not an object with a digest")
        subjects.append(
            (str(s.get("name", ""))[:1024], {str(k): str(v) for k, v in s["digest"].items()})
        )
    expected = [(x["name"], x["digest"]) for x in _subjects(manifest)]
    if subjects != expected:
        raise EnvelopeMalformed("statement subjects disagree with the manifest they summarise")
    return Statement(tuple(subjects), manifest)
