"""Keys: every type signs and verifies, passphrases protect, weak keys are refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from vmguard.integrity.errors import KeyProblem, SignatureInvalid
from vmguard.integrity.keys import (
    KeyType,
    generate_key,
    load_public_key,
    load_signing_key,
    write_key_pair,
)


def test_each_type_signs_and_verifies(key_pairs) -> None:
    for pair in key_pairs.values():
        signing = pair.signing()
        public = load_public_key(pair.public)
        assert public.keyid == signing.public.keyid
        signature = signing.sign(b"payload")
        assert public.verify(signature, b"payload") is None
        with pytest.raises(SignatureInvalid):
            public.verify(signature, b"payloaD")
        assert stat.S_IMODE(os.stat(pair.private).st_mode) == 0o600


def test_passphrase_protected_pkcs8(tmp_path: Path) -> None:
    private, public = tmp_path / "k.pem", tmp_path / "k.pub"
    write_key_pair(generate_key(KeyType.ECDSA_P384), private, public, b"s3cret")
    assert b"BEGIN ENCRYPTED PRIVATE KEY" in private.read_bytes()
    assert load_signing_key(private, b"s3cret").public.scheme == "ecdsa-sha2-nistp384"
    with pytest.raises(KeyProblem, match="passphrase"):
        load_signing_key(private, b"wrong")
    with pytest.raises(KeyProblem, match="passphrase"):
        load_signing_key(private)
    with pytest.raises(KeyProblem, match="exists"):
        write_key_pair(generate_key(KeyType.ED25519), private, tmp_path / "other.pub", None)


def test_weak_and_unsupported_keys_are_refused(tmp_path: Path) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    p521 = ec.generate_private_key(ec.SECP521R1())
    for name, key in (("rsa2048", weak), ("p521", p521)):
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        (tmp_path / name).write_bytes(pem)
        with pytest.raises(KeyProblem):
            load_signing_key(tmp_path / name)
        pub = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (tmp_path / f"{name}.pub").write_bytes(pub)
        with pytest.raises(KeyProblem):
            load_public_key(tmp_path / f"{name}.pub")
    (tmp_path / "junk").write_bytes(b"\x00" * 100_000)
    with pytest.raises(KeyProblem):
        load_signing_key(tmp_path / "junk")
