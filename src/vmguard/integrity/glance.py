"""OpenStack Glance image-signature properties for a signed disk file.

Glance (through OpenStack's ``cursive`` library) verifies ``img_signature`` over the image
file's bytes with ``img_signature_hash_method`` and the public key of the certificate that
``img_signature_certificate_uuid`` names in the key manager (Barbican). vmguard signs the
SHA-256 it already computed for the manifest, prehashed, so nothing is read twice.

cursive accepts RSA-PSS (MGF1, maximum salt length) and ECDSA on P-384/P-521 (and some
binary curves): Ed25519 and P-256 keys are refused here with that reason. Nothing here
talks to OpenStack.
"""

from __future__ import annotations

import base64
import re

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from vmguard.integrity.errors import KeyProblem
from vmguard.integrity.keys import SigningKey
from vmguard.integrity.manifest import FileRecord

HASH_METHOD = "SHA-256"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def glance_key_type(key: SigningKey) -> str:
    """The ``img_signature_key_type`` value for a key, or raise KeyProblem."""
    k = key.key
    if isinstance(k, rsa.RSAPrivateKey):
        return "RSA-PSS"
    if isinstance(k, ec.EllipticCurvePrivateKey) and isinstance(k.curve, ec.SECP384R1):
        return "ECC_SECP384R1"
    raise KeyProblem(
        "Glance (cursive) verifies RSA-PSS and ECDSA P-384 signatures only; "
        f"this key is {key.public.scheme}"
    )


def glance_properties(key: SigningKey, image: FileRecord, certificate_uuid: str) -> dict[str, str]:
    """The four ``img_signature*`` image properties for ``image``."""
    if not _UUID.match(certificate_uuid):
        raise KeyProblem(f"certificate UUID {certificate_uuid[:80]!r} is not a UUID")
    key_type = glance_key_type(key)
    signature = key.sign_sha256_digest(bytes.fromhex(image.sha256))
    return {
        "img_signature": base64.b64encode(signature).decode("ascii"),
        "img_signature_hash_method": HASH_METHOD,
        "img_signature_key_type": key_type,
        "img_signature_certificate_uuid": certificate_uuid.lower(),
    }
