"""Who may sign: public keys, or X.509 CAs whose certificate chains are validated.

``--pubkey FILE`` and ``--trust DIR`` load PEM files: a ``PUBLIC KEY`` is trusted as is, a
``CERTIFICATE`` becomes a trust anchor for signatures that carry a chain. Chains are built
and checked by ``cryptography.x509.verification`` (signatures, validity at verification
time, CA basic constraints and key usage, path length); the signing certificate must allow
digitalSignature and, when it has an extended key usage, codeSigning.

``verify_envelope`` raises ``SignatureInvalid`` or returns the ``Signer``; no path named in
an envelope or certificate is ever opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID

from vmguard.integrity.envelope import Envelope, EnvelopeSignature
from vmguard.integrity.errors import KeyProblem, SignatureInvalid, TrustProblem
from vmguard.integrity.keys import MAX_KEY_FILE, VerifyingKey, load_public_key_pem, verifying_key

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
        with open(path, "rb") as fh:
            data = fh.read(MAX_KEY_FILE + 1)
    except OSError as err:
        raise TrustProblem(f"{path}: cannot read: {err.strerror}") from err
    if len(data) > MAX_KEY_FILE:
        raise TrustProblem(f"{path}: larger than {MAX_KEY_FILE} bytes")
    return data


def _load_file(path: Path, keys: list[VerifyingKey], roots: list[x509.Certificate]) -> None:
    data = _read(path)
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            roots.extend(x509.load_pem_x509_certificates(data))
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


def _check_leaf_usage(leaf: x509.Certificate) -> None:
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.digital_signature:
            raise SignatureInvalid("signing certificate does not allow digitalSignature")
    except x509.ExtensionNotFound:
        pass
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.CODE_SIGNING not in eku:
            raise SignatureInvalid("signing certificate's extended key usage lacks codeSigning")
    except x509.ExtensionNotFound:
        pass


def _certificate_key(sig: EnvelopeSignature, trust: TrustStore, at: datetime) -> VerifyingKey:
    if not trust.roots:
        raise SignatureInvalid("signature carries a certificate but no CA is trusted")
    try:
        certs = [x509.load_pem_x509_certificate(pem) for pem in sig.cert_chain]
    except ValueError as err:
        raise SignatureInvalid(f"signature certificate cannot be parsed: {err}") from err
    leaf, intermediates = certs[0], certs[1:]
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store(list(trust.roots)))
        .time(at)
        .max_chain_depth(len(certs) + 1)
        .extension_policies(
            ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
            ee_policy=verification.ExtensionPolicy.permit_all(),
        )
        .build_client_verifier()
    )
    try:
        verified = verifier.verify(leaf, intermediates)
    except verification.VerificationError as err:
        raise SignatureInvalid(f"certificate chain not trusted: {err}") from err
    _check_leaf_usage(leaf)
    root = verified.chain[-1].subject.rfc4514_string()
    try:
        return verifying_key(leaf.public_key(), f"{leaf.subject.rfc4514_string()} (CA {root})")
    except KeyProblem as err:
        raise SignatureInvalid(str(err)) from err


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
