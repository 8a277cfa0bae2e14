"""DSSE envelopes checked by independent implementations: securesystemslib, in-toto-attestation."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement as AttestationStatement
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey

from vmguard.integrity.envelope import PAYLOAD_TYPE, pae, parse_envelope, parse_statement
from vmguard.integrity.errors import EnvelopeMalformed
from vmguard.integrity.keys import KeyType
from vmguard.integrity.sign import SignOptions, build_manifest, sign_manifest


def test_pae_matches_the_dsse_spec_example() -> None:
    # From the DSSE v1 protocol document.
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


@pytest.mark.parametrize(
    "kind", [KeyType.ED25519, KeyType.ECDSA_P256, KeyType.ECDSA_P384, KeyType.RSA_PSS_3072]
)
def test_securesystemslib_verifies_vmguard_envelopes(
    kind: KeyType, key_pairs, sample: Path
) -> None:
    pair = key_pairs[kind]
    signing = pair.signing()
    bundle = [sample / "sample.qcow2", sample / "sample.xml"]
    envelope = sign_manifest(build_manifest(bundle, SignOptions()), signing)

    public = serialization.load_pem_public_key(pair.public.read_bytes())
    key = SSlibKey.from_crypto(public, keyid=signing.public.keyid, scheme=signing.public.scheme)
    theirs = SslibEnvelope.from_dict(json.loads(envelope))
    accepted = theirs.verify([key], 1)
    assert signing.public.keyid in accepted

    statement = json.loads(theirs.payload)
    by_name = {s["name"]: s["digest"] for s in statement["subject"]}
    for path in bundle:  # subjects are plain file digests anyone can recompute
        assert by_name[path.name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()

    # The same verifier refuses a changed payload: the check above can fail.
    altered = SslibEnvelope.from_dict(json.loads(envelope))
    altered.payload = altered.payload.replace(b'"manifestVersion":1', b'"manifestVersion":9')
    assert altered.payload != theirs.payload
    with pytest.raises(VerificationError):
        altered.verify([key], 1)


def test_statement_validates_with_in_toto_attestation(key_pairs, sample: Path) -> None:
    signing = key_pairs[KeyType.ED25519].signing()
    envelope = sign_manifest(build_manifest([sample / "sample.qcow2"], SignOptions()), signing)
    doc = json.loads(envelope)
    assert doc["payloadType"] == PAYLOAD_TYPE == "application/vnd.in-toto+json"
    payload = base64.b64decode(doc["payload"])
    pb = json_format.Parse(payload, statement_pb2.Statement(), ignore_unknown_fields=False)
    AttestationStatement.copy_from_pb(pb).validate()
    assert pb.type == "https://in-toto.io/Statement/v1"
    assert pb.subject[0].name == "sample.qcow2"


def _envelope(**overrides: object) -> bytes:
    doc: dict[str, object] = {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(b"{}").decode(),
        "signatures": [{"keyid": "k", "sig": base64.b64encode(b"s").decode()}],
    }
    doc.update(overrides)
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b"{" * 100_000,
        _envelope(payloadType="text/plain"),
        _envelope(signatures=[]),
        _envelope(signatures=[{"keyid": "k", "sig": "!!"}] * 2),
        _envelope(signatures=[{"keyid": "k", "sig": "AA=="}] * 17),
        _envelope(payload=7),
        _envelope(signatures=[{"keyid": "x" * 300, "sig": "AA=="}]),
    ],
)
def test_malformed_envelopes_are_refused(data: bytes) -> None:
    with pytest.raises(EnvelopeMalformed):
        parse_envelope(data)


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        json.dumps({"_type": "https://in-toto.io/Statement/v0.1"}).encode(),
        json.dumps(
            {"_type": "https://in-toto.io/Statement/v1", "predicateType": "x", "predicate": {}}
        ).encode(),
    ],
)
def test_statements_that_are_not_vmguard_manifests_are_refused(payload: bytes) -> None:
    with pytest.raises(EnvelopeMalformed):
        parse_statement(payload)
