"""fleet scan on the local engine with SQLite: results, incrementality, correlation, secrets."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sqlalchemy import func, select

from vmguard.fleet import LocalEngine, collect_catalogue, load_posture, open_database
from vmguard.fleet.catalogue_scan import RunSummary, scan_catalogue
from vmguard.fleet.schema import scans
from vmguard.inspection import ImageOptions, open_guest
from vmguard.scanning import ScanOptions


def _scan(fleet: Path, db_url: str, workers: int = 2) -> RunSummary:
    options = ScanOptions(image=ImageOptions(allowed_dirs=(fleet / "bases",)))
    db = open_database(db_url)
    try:
        catalogue = collect_catalogue([str(fleet / "catalogue")])
        return scan_catalogue(catalogue, db, LocalEngine(workers), options, sources=["t"])
    finally:
        db.close()


def _outcomes(db_url: str, run_id: int) -> dict[str, str]:
    db = open_database(db_url)
    try:
        posture = load_posture(db)
        with db.engine.connect() as conn:
            rows = conn.execute(
                select(scans.c.image_id, scans.c.outcome).where(scans.c.run_id == run_id)
            ).all()
        ids = {r.image_id: r.outcome for r in rows}
        assert len(ids) == len(rows), "one scan row per image and run"
        return {Path(i.path).name: i.latest_outcome or "" for i in posture.images}
    finally:
        db.close()


def test_first_scan_then_nothing_read_again(fleet_copy: Path, tmp_path: Path) -> None:
    url = str(tmp_path / "fleet.sqlite")
    first = _scan(fleet_copy, url)
    assert (first.scanned, first.unchanged, len(first.errors)) == (4, 0, 1)
    assert first.errors[0].where.endswith("broken.qcow2")
    assert "Traceback" not in first.errors[0].reason
    second = _scan(fleet_copy, url)
    assert (second.scanned, second.unchanged, len(second.errors)) == (0, 4, 1)
    assert _outcomes(url, second.run_id) == {
        "broken.qcow2": "error",
        "db-clone.qcow2": "unchanged",
        "web-1.qcow2": "unchanged",
        "web-1.raw": "unchanged",
        "web-2.raw": "unchanged",
    }


def test_touch_costs_a_digest_not_a_scan_and_a_write_costs_a_scan(
    fleet_copy: Path, tmp_path: Path
) -> None:
    url = str(tmp_path / "fleet.sqlite")
    _scan(fleet_copy, url)
    web1 = fleet_copy / "catalogue/web-1.raw"
    os.utime(web1)  # new mtime and ctime, same bytes
    base = fleet_copy / "bases/db-base.raw"
    # A write into the linked clone's *backing file* changes the clone's guest content.
    subprocess.run(
        ["debugfs", "-w", "-R", "write /etc/hostname /etc/changed-after-scan", str(base)],
        check=True,
        capture_output=True,
    )
    run = _scan(fleet_copy, url)
    assert (run.scanned, run.unchanged) == (1, 3)
    assert _outcomes(url, run.run_id)["db-clone.qcow2"] == "scanned"
    assert _outcomes(url, run.run_id)["web-1.raw"] == "unchanged"
    # The touched image's new file state was stored: the next run needs only stat.
    again = _scan(fleet_copy, url)
    assert (again.scanned, again.unchanged) == (0, 4)


def test_shared_secrets_across_clones_and_conversions(fleet_copy: Path, tmp_path: Path) -> None:
    url = str(tmp_path / "fleet.sqlite")
    _scan(fleet_copy, url)
    db = open_database(url)
    try:
        posture = load_posture(db)
    finally:
        db.close()
    web = ("web-1.qcow2", "web-1.raw", "web-2.raw")
    kinds = {g.kind: tuple(Path(i).name for i in g.images) for g in posture.shared}
    assert kinds == {
        "cloud-credential": web,
        "password-hash": web,
        "ssh-host-key": web,
        "authorized-key": web,
    }
    host_keys = next(g for g in posture.shared if g.kind == "ssh-host-key")
    assert all("[redacted" in c.evidence for c in host_keys.carriers)
    clone = next(i for i in posture.images if i.path.endswith("db-clone.qcow2"))
    assert {f.rule_id for f in clone.findings} >= {"ssh.host-key-baked", "secret.aws-access-key"}
    assert clone.hostname == "db-base"


def test_database_holds_no_password_hash_and_no_fingerprint(
    fleet_copy: Path, tmp_path: Path
) -> None:
    url = tmp_path / "fleet.sqlite"
    _scan(fleet_copy, str(url))
    guest = open_guest(fleet_copy / "catalogue/web-1.raw", ImageOptions())
    assert guest.facts is not None
    root = next(u for u in guest.facts.users if u.name == "root")
    assert root.password_hash and root.password_hash.startswith("$6$")
    dump = subprocess.run(["sqlite3", str(url), ".dump"], capture_output=True, check=True).stdout
    assert dump.count(b"INSERT INTO secret_markers") >= 16
    assert root.password_hash.encode() not in dump
    assert root.password_hash.split("$")[3][:20].encode() not in dump  # not even the salt
    # Secret digests (what findings carry as fingerprint) never reach the database.
    from vmguard.fleet.task import finding_markers, password_markers
    from vmguard.scanning import scan_guest

    findings, _ = scan_guest(guest, ScanOptions(workers=1))
    digests = [m.digest for m in finding_markers(findings) + password_markers(guest.facts.users)]
    fingerprints = [f.fingerprint for f in findings if f.fingerprint]
    assert digests and fingerprints
    for value in digests + fingerprints:
        assert value.encode() not in dump


def test_database_keys_are_per_database(fleet_copy: Path, tmp_path: Path) -> None:
    one, two = open_database(str(tmp_path / "a.sqlite")), open_database(str(tmp_path / "b.sqlite"))
    try:
        assert one.hmac_key != two.hmac_key
        assert one.key_hmac("x") != two.key_hmac("x")
        with one.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(scans)).scalar() == 0
    finally:
        one.close()
        two.close()
