"""fleet scan of a LUKS2 image made by cryptsetup: locked without a key, opened with one, and
re-scanned when a key arrives for an image whose volume stayed locked; the key never
reaches the database."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from luksimages import PASSPHRASE, EncryptedFs, cryptsetup_missing, encrypted_ext4
from vmguard.disk.volumes.luks_unlock import VolumeSecret
from vmguard.fleet import LocalEngine, collect_catalogue, load_posture, open_database
from vmguard.fleet.catalogue_scan import RunSummary, scan_catalogue
from vmguard.fleet.schema import images
from vmguard.fleet.task import LOCKED_SUFFIX
from vmguard.inspection import ImageOptions
from vmguard.scanning import ScanOptions

pytestmark = pytest.mark.skipif(cryptsetup_missing() is not None, reason=str(cryptsetup_missing()))


@pytest.fixture(scope="module")
def luks(tmp_path_factory: pytest.TempPathFactory) -> EncryptedFs:
    return encrypted_ext4(tmp_path_factory.mktemp("fleet-luks"), version=2)


def _catalogue(luks: EncryptedFs, directory: Path) -> Path:
    directory.mkdir()
    shutil.copyfile(luks.path, directory / "vault.img")
    return directory


def _scan(catalogue: Path, url: str, *secrets: bytes) -> RunSummary:
    keys = tuple(VolumeSecret(s, "passphrase file") for s in secrets)
    options = ScanOptions(image=ImageOptions(secrets=keys))
    db = open_database(url)
    try:
        found = collect_catalogue([str(catalogue)])
        return scan_catalogue(found, db, LocalEngine(1), options, sources=["t"])
    finally:
        db.close()


def _rules_and_digest(url: str) -> tuple[set[str], str]:
    db = open_database(url)
    try:
        (image,) = load_posture(db).images
        with db.engine.connect() as conn:
            digest = conn.execute(select(images.c.content_digest)).scalar_one()
        return {f.rule_id for f in image.findings}, str(digest)
    finally:
        db.close()


def test_a_key_opens_what_an_earlier_scan_left_locked(luks: EncryptedFs, tmp_path: Path) -> None:
    catalogue = _catalogue(luks, tmp_path / "catalogue")
    url = str(tmp_path / "fleet.sqlite")
    locked = _scan(catalogue, url)
    assert (locked.scanned, locked.errors) == (1, ())
    rules, digest = _rules_and_digest(url)
    assert "secret.private-key" not in rules and digest.endswith(LOCKED_SUFFIX)

    wrong = _scan(catalogue, url, b"not the passphrase")
    # The task ran (keys may open it now) and found the same bytes still locked.
    assert (wrong.scanned, wrong.unchanged) == (0, 1)

    opened = _scan(catalogue, url, PASSPHRASE)
    assert (opened.scanned, opened.unchanged, opened.errors) == (1, 0, ())
    rules, digest = _rules_and_digest(url)
    assert "secret.private-key" in rules and not digest.endswith(LOCKED_SUFFIX)

    again = _scan(catalogue, url, PASSPHRASE)
    assert (again.scanned, again.unchanged) == (0, 1)

    dump = subprocess.run(["sqlite3", url, ".dump"], capture_output=True, check=True).stdout
    assert PASSPHRASE not in dump and PASSPHRASE.hex().encode() not in dump
