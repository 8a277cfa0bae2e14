"""``--key-file`` / ``--passphrase-file`` on the real command: a LUKS2 guest is inspected and
scanned through its key; the secret is never printed, and never taken on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirunner import vmguard
from luksimages import PASSPHRASE, EncryptedFs, cryptsetup_missing, encrypted_ext4

pytestmark = pytest.mark.skipif(cryptsetup_missing() is not None, reason=str(cryptsetup_missing()))


@pytest.fixture(scope="module")
def guest(tmp_path_factory: pytest.TempPathFactory) -> EncryptedFs:
    return encrypted_ext4(tmp_path_factory.mktemp("cli-luks"), version=2, pbkdf="argon2id")


def test_scan_finds_secrets_inside_luks(guest: EncryptedFs, tmp_path: Path) -> None:
    passphrase = tmp_path / "pass.txt"
    passphrase.write_bytes(PASSPHRASE + b"\n")  # typed line: the newline is not the secret
    run = vmguard("scan", "--format", "json", "--passphrase-file", passphrase, guest.path)
    assert run.code == 1, run.stderr
    report = json.loads(run.stdout)
    assert {(f["rule_id"], f["location"]["path"]) for f in report["findings"]} >= {
        ("secret.private-key", "/root/.ssh/id_ed25519")
    }
    assert report["inventory"]["os"]["hostname"] == "vault"
    assert PASSPHRASE.decode() not in run.stdout + run.stderr


def test_inspect_with_key_file(guest: EncryptedFs) -> None:
    run = vmguard("inspect", "--format", "json", "--key-file", guest.key_file, guest.path)
    assert run.code == 0, run.stderr
    (part,) = json.loads(run.stdout)["inventory"]["partitions"]
    assert (part["filesystem"], part["encryption"], part["mountpoint"]) == ("ext4", "luks2", "/")
    assert PASSPHRASE.decode() not in run.stdout + run.stderr


def test_without_a_key_the_volume_is_reported_closed(guest: EncryptedFs) -> None:
    run = vmguard("inspect", "--format", "json", guest.path)
    report = json.loads(run.stdout)
    (part,) = report["inventory"]["partitions"]
    assert (part["filesystem"], part["encryption"]) == ("crypto_LUKS", "luks2")


def test_unreadable_key_file_is_one_line(guest: EncryptedFs, tmp_path: Path) -> None:
    run = vmguard("inspect", "--key-file", tmp_path / "missing", guest.path)
    assert run.code == 2
    assert run.stderr.startswith("vmguard: error: ") and run.stderr.count("\n") == 1


def test_no_secret_on_the_command_line(guest: EncryptedFs) -> None:
    run = vmguard("inspect", "--passphrase", PASSPHRASE.decode(), guest.path)
    assert run.code == 2
    assert "No such option" in run.stderr
