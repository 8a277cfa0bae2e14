"""Trust: key directories and X.509 chains validated by cryptography's verifier."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from certs import NOW, make_pki, pem
from vmguard.integrity.envelope import parse_envelope, sign_envelope
from vmguard.integrity.errors import SignatureInvalid, TrustProblem
from vmguard.integrity.keys import KeyType
from vmguard.integrity.trust import load_trust, verify_envelope


def _signed(key_pairs, kind: KeyType = KeyType.ECDSA_P256, chain: bytes = b"") -> bytes:
    signing = key_pairs[kind].signing()
    certs = tuple(
        p + b"-----END CERTIFICATE-----\n" for p in chain.split(b"-----END CERTIFICATE-----\n") if p
    )
    return sign_envelope(b'{"x":1}', signing, certs)


def test_trust_directory_of_keys(key_pairs, tmp_path: Path) -> None:
    (tmp_path / "a.pub").write_bytes(key_pairs[KeyType.ED25519].public.read_bytes())
    (tmp_path / "README").write_text("ignored: not a key suffix\n")
    store = load_trust((), [tmp_path])
    envelope = parse_envelope(_signed(key_pairs, KeyType.ED25519))
    assert verify_envelope(envelope, store, at=NOW).origin == "a.pub"
    with pytest.raises(SignatureInvalid):
        verify_envelope(parse_envelope(_signed(key_pairs, KeyType.ECDSA_P384)), store, at=NOW)
    (tmp_path / "bad.pem").write_text("hello\n")
    with pytest.raises(TrustProblem):
        load_trust((), [tmp_path])
    with pytest.raises(TrustProblem):
        load_trust((), [tmp_path / "missing"])


def test_certificate_chain_to_trusted_root(key_pairs, tmp_path: Path) -> None:
    pki = make_pki()
    signing = key_pairs[KeyType.ECDSA_P256].signing()
    leaf = pki.leaf(signing.key.public_key())
    (tmp_path / "root.crt").write_bytes(pem(pki.root))
    store = load_trust((), [tmp_path])
    envelope = parse_envelope(_signed(key_pairs, chain=pem(leaf, pki.inter)))
    signer = verify_envelope(envelope, store, at=NOW)
    assert "vm signer" in signer.origin and "root" in signer.origin

    other = make_pki("other root")
    (tmp_path / "root.crt").write_bytes(pem(other.root))
    with pytest.raises(SignatureInvalid, match="not trusted"):
        verify_envelope(envelope, load_trust((), [tmp_path]), at=NOW)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"days": (-30, -1)}, "not trusted"),
        ({"eku": [ExtendedKeyUsageOID.SERVER_AUTH]}, "codeSigning"),
    ],
)
def test_unfit_signing_certificates(key_pairs, tmp_path: Path, kwargs, match: str) -> None:
    pki = make_pki()
    signing = key_pairs[KeyType.ECDSA_P256].signing()
    leaf = pki.leaf(signing.key.public_key(), **kwargs)
    (tmp_path / "root.crt").write_bytes(pem(pki.root))
    envelope = parse_envelope(_signed(key_pairs, chain=pem(leaf, pki.inter)))
    with pytest.raises(SignatureInvalid, match=match):
        verify_envelope(envelope, load_trust((), [tmp_path]), at=NOW)


def test_chain_for_another_key_does_not_verify(key_pairs, tmp_path: Path) -> None:
    pki = make_pki()
    stranger = key_pairs[KeyType.ECDSA_P384].signing()
    leaf = pki.leaf(stranger.key.public_key())
    (tmp_path / "root.crt").write_bytes(pem(pki.root))
    envelope = parse_envelope(_signed(key_pairs, chain=pem(leaf, pki.inter)))
    with pytest.raises(SignatureInvalid):
        verify_envelope(envelope, load_trust((), [tmp_path]), at=NOW)
