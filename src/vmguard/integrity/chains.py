"""X.509 certificate chains: trust anchors from PEM, and the key a validated chain vouches for.

Chains are built and checked by ``cryptography.x509.verification`` (signatures, validity at
verification time, CA basic constraints and key usage, path length); the signing certificate
must allow digitalSignature and, when it has an extended key usage, codeSigning.

Its own module because ``cryptography.x509`` costs more start-up time than verifying a
signature: ``trust`` imports it only when a trust file or an envelope holds a certificate.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID

from vmguard.integrity.errors import KeyProblem, SignatureInvalid
from vmguard.integrity.keys import VerifyingKey, verifying_key


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM file (raises ``ValueError`` when one cannot be parsed)."""
    return x509.load_pem_x509_certificates(data)


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


def chain_key(
    chain: Sequence[bytes], roots: Sequence[x509.Certificate], at: datetime
) -> VerifyingKey:
    """The leaf's key, when ``chain`` (leaf first, PEM) leads to one of ``roots`` at ``at``."""
    try:
        certs = [x509.load_pem_x509_certificate(pem) for pem in chain]
    except ValueError as err:
        raise SignatureInvalid(f"signature certificate cannot be parsed: {err}") from err
    leaf, intermediates = certs[0], certs[1:]
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store(list(roots)))
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
