"""``vmguard keygen``: every key type, passphrases, refusals as one-line errors."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from clirunner import vmguard


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa-p256", "ecdsa-p384", "rsa-pss-4096"])
def test_keygen_types(kind: str, tmp_path: Path) -> None:
    run = vmguard("keygen", "--type", kind, "-o", tmp_path / "k.pem")
    assert run.code == 0, run.stderr
    private = (tmp_path / "k.pem").read_bytes()
    assert private.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600
    serialization.load_pem_public_key((tmp_path / "k.pem.pub").read_bytes())


def test_keygen_passphrase_and_refusals(tmp_path: Path) -> None:
    (tmp_path / "pass").write_text("correct horse\n")
    run = vmguard("keygen", "-o", tmp_path / "k.pem", "--passphrase-file", tmp_path / "pass")
    assert run.code == 0, run.stderr
    key = serialization.load_pem_private_key((tmp_path / "k.pem").read_bytes(), b"correct horse")
    assert key is not None
    again = vmguard("keygen", "-o", tmp_path / "k.pem")
    assert again.code == 2
    assert again.stderr.startswith("vmguard: error:") and "exists" in again.stderr
    assert len(again.stderr.splitlines()) == 1
    unsigned = vmguard("sign", tmp_path / "pass", "--key", tmp_path / "k.pem", "-o", tmp_path / "s")
    assert unsigned.code == 2 and "passphrase" in unsigned.stderr
