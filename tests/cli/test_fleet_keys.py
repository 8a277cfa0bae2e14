"""``vmguard fleet scan --passphrase-file/--key-file`` as a user runs it, on a LUKS2 image
made by cryptsetup: the volume is opened, the key is never printed nor stored, never taken
on the command line, and never sent to a Dask scheduler in plain text."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from clirunner import vmguard
from luksimages import PASSPHRASE, EncryptedFs, cryptsetup_missing, encrypted_ext4

pytestmark = pytest.mark.skipif(cryptsetup_missing() is not None, reason=str(cryptsetup_missing()))


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, EncryptedFs]:
    luks = encrypted_ext4(tmp_path_factory.mktemp("fleet-cli-luks"), version=2)
    directory = tmp_path_factory.mktemp("fleet-cli-catalogue")
    shutil.copyfile(luks.path, directory / "vault.img")
    return directory, luks


def test_fleet_scan_opens_luks_with_a_passphrase_file(
    catalogue: tuple[Path, EncryptedFs], tmp_path: Path
) -> None:
    directory, _ = catalogue
    passphrase = tmp_path / "pass.txt"
    passphrase.write_bytes(PASSPHRASE + b"\n")
    db = tmp_path / "fleet.sqlite"
    run = vmguard("fleet", "scan", directory, "--db", db, "--passphrase-file", passphrase,
                  "--workers", "1", timeout=300)  # fmt: skip
    assert run.code == 0, run.stderr
    assert "1 images: 1 scanned" in run.stdout
    report = vmguard("fleet", "report", "--db", db, "--format", "json")
    (image,) = json.loads(report.stdout)["images"]
    assert image["hostname"] == "vault"
    assert "secret.private-key" in {f["rule_id"] for f in image["findings"]}
    dump = subprocess.run(["sqlite3", str(db), ".dump"], capture_output=True, check=True).stdout
    assert PASSPHRASE not in dump
    assert PASSPHRASE.decode() not in run.stdout + run.stderr + report.stdout + report.stderr


def test_key_file_is_refused_for_a_plain_tcp_dask_scheduler(
    catalogue: tuple[Path, EncryptedFs], tmp_path: Path
) -> None:
    directory, luks = catalogue
    run = vmguard("fleet", "scan", directory, "--db", tmp_path / "f.sqlite", "--engine", "dask",
                  "--scheduler", "tcp://127.0.0.1:9", "--key-file", luks.key_file)  # fmt: skip
    assert run.code == 2
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("vmguard: error: ") and "tls://" in line


def test_no_secret_on_the_command_line(catalogue: tuple[Path, EncryptedFs], tmp_path: Path) -> None:
    directory, _ = catalogue
    run = vmguard("fleet", "scan", directory, "--passphrase", PASSPHRASE.decode())
    assert run.code == 2 and "No such option" in run.stderr
