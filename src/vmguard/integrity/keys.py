"""Signing keys: Ed25519, ECDSA P-256/P-384 and RSA-PSS (3072 bits or more), PEM/PKCS#8.

Names follow securesystemslib's schemes so independent DSSE verifiers can check vmguard's
signatures. A key id is the hex SHA-256 of the DER SubjectPublicKeyInfo. Weak or unknown
keys (RSA under 3072 bits, other curves, DSA) are refused when loaded, public ones included.

This module never writes a private key without owner-only permissions and never prints one.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from vmguard.integrity.errors import KeyProblem, SignatureInvalid
from vmguard.userfiles import UserFileError, read_first_line, read_user_file

MAX_KEY_FILE = 64 * 1024
MAX_PASSPHRASE_FILE = 64 * 1024
MAX_CERT_CHAIN_FILE = 512 * 1024
MIN_RSA_BITS = 3072

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class KeyType(StrEnum):
    """Key types ``vmguard keygen`` makes."""

    ED25519 = "ed25519"
    ECDSA_P256 = "ecdsa-p256"
    ECDSA_P384 = "ecdsa-p384"
    RSA_PSS_3072 = "rsa-pss-3072"
    RSA_PSS_4096 = "rsa-pss-4096"


def _scheme(key: PublicKey) -> str:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(key, ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return "ecdsa-sha2-nistp256"
        if isinstance(key.curve, ec.SECP384R1):
            return "ecdsa-sha2-nistp384"
        raise KeyProblem(f"elliptic curve {key.curve.name} is not supported (P-256, P-384)")
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise KeyProblem(f"RSA key of {key.key_size} bits refused (at least {MIN_RSA_BITS})")
        return "rsassa-pss-sha256"
    raise KeyProblem(f"key type {type(key).__name__} is not supported")


def _hash_for(key: PublicKey) -> hashes.HashAlgorithm:
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP384R1):
        return hashes.SHA384()
    return hashes.SHA256()


def key_id(key: PublicKey) -> str:
    """Hex SHA-256 of the DER SubjectPublicKeyInfo."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


@dataclass(frozen=True, slots=True)
class VerifyingKey:
    """A public key vmguard accepts, with its DSSE key id and signature scheme."""

    key: PublicKey = field(repr=False)
    keyid: str
    scheme: str
    origin: str
    """Where it came from (a file name, a certificate subject), for messages."""

    def verify(self, signature: bytes, data: bytes) -> None:
        """Return None when ``signature`` over ``data`` is valid; raise SignatureInvalid."""
        try:
            k = self.key
            if isinstance(k, ed25519.Ed25519PublicKey):
                k.verify(signature, data)
            elif isinstance(k, ec.EllipticCurvePublicKey):
                k.verify(signature, data, ec.ECDSA(_hash_for(k)))
            else:
                pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
                k.verify(signature, data, pss, hashes.SHA256())
        except InvalidSignature as err:
            raise SignatureInvalid(f"signature does not verify with key {self.origin}") from err

    def pem(self) -> bytes:
        """SubjectPublicKeyInfo PEM."""
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def verifying_key(key: object, origin: str) -> VerifyingKey:
    """Wrap a cryptography public key, refusing weak or unsupported ones."""
    if not isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise KeyProblem(f"{origin}: key type {type(key).__name__} is not supported")
    return VerifyingKey(key, key_id(key), _scheme(key), origin)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key loaded for signing."""

    key: PrivateKey = field(repr=False)
    public: VerifyingKey

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` with the key's scheme (DER for ECDSA, PSS with digest-length salt)."""
        k = self.key
        if isinstance(k, ed25519.Ed25519PrivateKey):
            return k.sign(data)
        if isinstance(k, ec.EllipticCurvePrivateKey):
            return k.sign(data, ec.ECDSA(_hash_for(k.public_key())))
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
        return k.sign(data, pss, hashes.SHA256())

    def sign_sha256_digest(self, digest: bytes) -> bytes:
        """Sign a precomputed SHA-256 digest (what OpenStack Glance verifies over image data).

        RSA-PSS uses MGF1(SHA-256) with the maximum salt length, as cursive expects; ECDSA
        signs the digest as computed. Ed25519 cannot sign a prehash and is refused.
        """
        prehashed = utils.Prehashed(hashes.SHA256())
        k = self.key
        if isinstance(k, rsa.RSAPrivateKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)
            return k.sign(digest, pss, prehashed)
        if isinstance(k, ec.EllipticCurvePrivateKey):
            return k.sign(digest, ec.ECDSA(prehashed))
        raise KeyProblem("Ed25519 keys cannot make Glance signatures (use RSA-PSS or ECDSA P-384)")


def _read_bounded(path: Path) -> bytes:
    try:
        return read_user_file(path, "key file", MAX_KEY_FILE)
    except UserFileError as err:
        raise KeyProblem(err.diagnostics()) from err


def read_passphrase(path: Path | None) -> bytes | None:
    """The private key's passphrase: the first line of ``path`` without its line ending
    (None without a file); ``KeyProblem`` when it cannot be read or is empty."""
    if path is None:
        return None
    try:
        return read_first_line(path, "passphrase file", MAX_PASSPHRASE_FILE)
    except UserFileError as err:
        raise KeyProblem(err.diagnostics()) from err


def load_certificate_chain(path: Path, key: SigningKey) -> tuple[bytes, ...]:
    """The PEM certificates of ``path`` (leaf first), refused unless the leaf is ``key``'s."""
    try:
        data = read_user_file(path, "certificate chain", MAX_CERT_CHAIN_FILE)
    except UserFileError as err:
        raise KeyProblem(err.diagnostics()) from err
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as err:
        raise KeyProblem(f"{path}: not a PEM certificate chain ({err})") from err
    pem = serialization.Encoding.PEM
    leaf = certs[0].public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo)
    if leaf != key.public.pem():
        raise KeyProblem(f"{path}: the first certificate is not for the signing key")
    return tuple(c.public_bytes(pem) for c in certs)


def load_signing_key(path: Path, passphrase: bytes | None = None) -> SigningKey:
    """Load a PEM private key (PKCS#8, encrypted or not)."""
    data = _read_bounded(path)
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError as err:
        raise KeyProblem(
            f"{path}: {'a passphrase is needed' if passphrase is None else err}"
        ) from err
    except (ValueError, UnsupportedAlgorithm) as err:
        reason = (
            "wrong passphrase or not a PEM private key" if passphrase else "not a PEM private key"
        )
        raise KeyProblem(f"{path}: {reason}") from err
    if not isinstance(
        key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    ):
        raise KeyProblem(f"{path}: key type {type(key).__name__} is not supported")
    return SigningKey(key, verifying_key(key.public_key(), path.name))


def load_public_key_pem(data: bytes, origin: str) -> VerifyingKey:
    """Load a PEM SubjectPublicKeyInfo."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as err:
        raise KeyProblem(f"{origin}: not a PEM public key") from err
    return verifying_key(key, origin)


def load_public_key(path: Path) -> VerifyingKey:
    """Load a PEM public key file."""
    return load_public_key_pem(_read_bounded(path), path.name)


def generate_key(kind: KeyType) -> PrivateKey:
    """A new private key of ``kind``."""
    match kind:
        case KeyType.ED25519:
            return ed25519.Ed25519PrivateKey.generate()
        case KeyType.ECDSA_P256:
            return ec.generate_private_key(ec.SECP256R1())
        case KeyType.ECDSA_P384:
            return ec.generate_private_key(ec.SECP384R1())
        case KeyType.RSA_PSS_3072:
            return rsa.generate_private_key(public_exponent=65537, key_size=3072)
        case KeyType.RSA_PSS_4096:
            return rsa.generate_private_key(public_exponent=65537, key_size=4096)


def write_key_pair(
    key: PrivateKey, private_path: Path, public_path: Path, passphrase: bytes | None
) -> VerifyingKey:
    """Write PKCS#8 PEM (0600, encrypted with ``passphrase`` if given) and the public PEM.

    Refuses to overwrite either file.
    """
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    public = verifying_key(key.public_key(), public_path.name)
    for path in (private_path, public_path):
        if path.exists() or path.is_symlink():
            raise KeyProblem(f"{path} exists; not overwriting a key")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(private_path, flags, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(private_pem)
        fd = os.open(public_path, flags, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(public.pem())
    except OSError as err:
        raise KeyProblem(f"cannot write key: {err}") from err
    return public
