"""Glance img_signature properties, verified by OpenStack's own cursive library."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from castellan.key_manager import key_manager_opts
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cursive import signature_utils
from oslo_config import cfg

from certs import make_pki
from clirunner import vmguard
from vmguard.integrity.errors import KeyProblem
from vmguard.integrity.glance import glance_properties
from vmguard.integrity.keys import KeyType
from vmguard.integrity.sign import SignOptions, build_manifest


@pytest.fixture
def key_manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point castellan at the directory backend (configuration, not a mock)."""
    monkeypatch.setenv("VMGUARD_TEST_CERT_DIR", str(tmp_path))
    conf = cfg.CONF
    conf.register_opts(key_manager_opts, group="key_manager")
    conf.set_override("backend", "castellan_files.DirectoryKeyManager", group="key_manager")
    yield tmp_path
    conf.clear_override("backend", group="key_manager")


def _store_certificate(directory: Path, public_key: object) -> str:
    cert_uuid = str(uuid.uuid4())
    leaf = make_pki().leaf(public_key)
    (directory / f"{cert_uuid}.der").write_bytes(leaf.public_bytes(serialization.Encoding.DER))
    return cert_uuid


def _cursive_verify(props: dict[str, str], image: Path) -> None:
    verifier = signature_utils.get_verifier(
        context=None,
        img_signature_certificate_uuid=props["img_signature_certificate_uuid"],
        img_signature_hash_method=props["img_signature_hash_method"],
        img_signature=props["img_signature"],
        img_signature_key_type=props["img_signature_key_type"],
    )
    with open(image, "rb") as fh:  # Glance feeds the image data as it streams
        while chunk := fh.read(1 << 20):
            verifier.update(chunk)
    verifier.verify()


@pytest.mark.parametrize("kind", [KeyType.RSA_PSS_3072, KeyType.ECDSA_P384])
def test_cursive_verifies_glance_properties(kind, key_pairs, key_manager, sample, tmp_path):
    signing = key_pairs[kind].signing()
    cert_uuid = _store_certificate(key_manager, signing.key.public_key())
    image = sample / "sample.qcow2"
    record = build_manifest([image], SignOptions()).disks[0].files[0]
    props = glance_properties(signing, record, cert_uuid)
    _cursive_verify(props, image)

    tampered = tmp_path / "tampered.qcow2"
    tampered.write_bytes(image.read_bytes()[:-1] + b"\x01")
    with pytest.raises(InvalidSignature):  # what Glance catches from cursive's verifier
        _cursive_verify(props, tampered)


def test_cli_prints_properties_cursive_accepts(key_pairs, key_manager, sample, tmp_path):
    pair = key_pairs[KeyType.ECDSA_P384]
    cert_uuid = _store_certificate(key_manager, pair.signing().key.public_key())
    image = sample / "sample.qcow2"
    run = vmguard(
        "sign", image, "--key", pair.private, "-o", tmp_path / "s.json",
        "--glance", "--cert-uuid", cert_uuid,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    props = json.loads(run.stdout)["sample.qcow2"]
    assert props["img_signature_key_type"] == "ECC_SECP384R1"
    _cursive_verify(props, image)


def test_keys_cursive_cannot_check_are_refused(key_pairs, sample) -> None:
    record = build_manifest([sample / "sample.qcow2"], SignOptions()).disks[0].files[0]
    for kind in (KeyType.ED25519, KeyType.ECDSA_P256):
        with pytest.raises(KeyProblem, match="RSA-PSS and ECDSA P-384"):
            glance_properties(key_pairs[kind].signing(), record, str(uuid.uuid4()))
