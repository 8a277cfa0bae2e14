"""A small real PKI for tests: root CA -> intermediate CA -> code-signing leaf."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = dt.datetime.now(dt.UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_cert(
    subject: str,
    public_key: object,
    issuer: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    eku: list[x509.ObjectIdentifier] | None = None,
    days: tuple[int, int] = (-1, 30),
) -> x509.Certificate:
    """One certificate signed by ``issuer_key``."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + dt.timedelta(days=days[0]))
        .not_valid_after(NOW + dt.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(public_key),  # type: ignore[arg-type]
            critical=False,
        )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return builder.sign(issuer_key, hashes.SHA384())


@dataclass(frozen=True)
class Pki:
    """Root and intermediate CA keys and certificates."""

    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    inter_key: ec.EllipticCurvePrivateKey
    inter: x509.Certificate

    def leaf(self, public_key: object, **kwargs: object) -> x509.Certificate:
        """A leaf for ``public_key`` issued by the intermediate (code signing by default)."""
        kwargs.setdefault("eku", [ExtendedKeyUsageOID.CODE_SIGNING])
        return make_cert(
            "vm signer",
            public_key,
            "intermediate",
            self.inter_key,
            ca=False,
            **kwargs,  # type: ignore[arg-type]
        )


def make_pki(name: str = "root") -> Pki:
    """A fresh root -> intermediate hierarchy."""
    root_key = ec.generate_private_key(ec.SECP384R1())
    root = make_cert(name, root_key.public_key(), name, root_key, ca=True)
    inter_key = ec.generate_private_key(ec.SECP384R1())
    inter = make_cert("intermediate", inter_key.public_key(), name, root_key, ca=True)
    return Pki(root_key, root, inter_key, inter)


def pem(*certs: x509.Certificate) -> bytes:
    """Concatenated PEM."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
