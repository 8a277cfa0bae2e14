"""Who may sign: public keys, or X.509 CAs whose certificate chains are validated.

``--pubkey FILE`` and ``--trust DIR`` load PEM files: a ``PUBLIC KEY`` is trusted as is, a
``CERTIFICATE`` becomes a trust anchor for signatures that carry a chain, checked by
``chains`` (imported only then: X.509 costs more start-up time than a signature check).

``verify_envelope`` raises ``SignatureInvalid`` or returns the ``Signer``; no path named in
an envelope or certificate is ever opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from vmguard.integrity.envelope import Envelope, EnvelopeSignature
from vmguard.integrity.errors import KeyProblem, SignatureInvalid, TrustProblem
from vmguard.integrity.keys import MAX_KEY_FILE, VerifyingKey, load_public_key_pem
from vmguard.userfiles import UserFileError, read_user_file

if TYPE_CHECKING:
    from cryptography import x509

MAX_TRUST_FILES = 256
TRUST_SUFFIXES = (".pem", ".pub", ".crt")


@dataclass(frozen=True, slots=True)
class TrustStore:
    """Trusted public keys and CA certificates."""

    keys: tuple[VerifyingKey, ...] = ()
    roots: tuple[x509.Certificate, ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True)
class Signer:
    """Who signed a verified envelope."""

    keyid: str
    origin: str
    """The trusted key file, or the certificate subject with its chain's root."""


def _read(path: Path) -> bytes:
    try:
        return read_user_file(path, "trusted key or certificate", MAX_KEY_FILE)
    except UserFileError as err:
        raise TrustProblem(err.diagnostics()) from err


def _load_file(path: Path, keys: list[VerifyingKey], roots: list[x509.Certificate]) -> None:
    data = _read(path)
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            from vmguard.integrity.chains import load_certificates

            roots.extend(load_certificates(data))
        elif b"PRIVATE KEY-----" in data:
            raise TrustProblem(f"{path}: a private key; trust only public keys and CAs")
        elif b"-----BEGIN PUBLIC KEY-----" in data:
            keys.append(load_public_key_pem(data, path.name))
        else:
            raise TrustProblem(f"{path}: neither a PEM public key nor a certificate")
    except (ValueError, KeyProblem) as err:
        raise TrustProblem(f"{path}: {err}") from err


def load_trust(pubkeys: Sequence[Path] = (), trust_dirs: Sequence[Path] = ()) -> TrustStore:
    """Trust the given public key files and every .pem/.pub/.crt file of the directories."""
    keys: list[VerifyingKey] = []
    roots: list[x509.Certificate] = []
    for path in pubkeys:
        _load_file(path, keys, roots)
    for directory in trust_dirs:
        if not directory.is_dir():
            raise TrustProblem(f"{directory}: not a directory of trusted keys")
        files = sorted(p for p in directory.iterdir() if p.suffix in TRUST_SUFFIXES)
        if len(files) > MAX_TRUST_FILES:
            raise TrustProblem(f"{directory}: more than {MAX_TRUST_FILES} trust files")
        for path in files:
            if path.is_file():
                _load_file(path, keys, roots)
    if not keys and not roots:
        raise TrustProblem("no trusted public key or CA certificate given")
    return TrustStore(tuple(keys), tuple(roots))


def _certificate_key(sig: EnvelopeSignature, trust: TrustStore, at: datetime) -> VerifyingKey:
    if not trust.roots:
        raise SignatureInvalid("signature carries a certificate but no CA is trusted")
    from vmguard.integrity.chains import chain_key

    return chain_key(sig.cert_chain, trust.roots, at)


def verify_envelope(envelope: Envelope, trust: TrustStore, *, at: datetime) -> Signer:
    """The signer of the first signature a trusted key or chain verifies; else raise."""
    signed = envelope.signed_bytes()
    reasons: list[str] = []
    for sig in envelope.signatures:
        if sig.cert_chain:
            try:
                key = _certificate_key(sig, trust, at)
                key.verify(sig.sig, signed)
            except SignatureInvalid as err:
                reasons.append(err.diagnostics())
                continue
            return Signer(key.keyid, key.origin)
        candidates = [k for k in trust.keys if k.keyid == sig.keyid] or list(trust.keys)
        for key in candidates:
            try:
                key.verify(sig.sig, signed)
            except SignatureInvalid:
                continue
            return Signer(key.keyid, key.origin)
        reasons.append(f"signature by key {sig.keyid[:16] or '?'} matches no trusted key")
    raise SignatureInvalid("; ".join(dict.fromkeys(reasons)) or "no signature")
