"""``vmguard fleet scan`` / ``fleet report`` as a user runs them (real subprocesses)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from clirunner import vmguard

sys.path.insert(0, str(Path(__file__).parents[1]))

from fleet.conftest import dask_scheduler, fleet_dir, free_port  # noqa: F401
from vulns.osvdata import debian_record, write_all_zip


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vmguard: error: "), stderr
    return lines[0]


def test_scan_then_report_in_every_format(fleet_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    db = tmp_path / "fleet.sqlite"
    args = (
        "fleet",
        "scan",
        fleet_dir / "catalogue",
        "--db",
        db,
        "--allow-dir",
        fleet_dir / "bases",
    )
    first = vmguard(*args, timeout=300)
    assert first.code == 0, first.stderr
    assert "5 images: 4 scanned, 0 unchanged, 0 re-matched, 1 failed" in first.stdout
    assert "failed: " in first.stdout and "broken.qcow2" in first.stdout
    assert "skipped: 1 files: not a disk image" in first.stdout
    second = vmguard(*args, timeout=300)
    assert "0 scanned, 4 unchanged" in second.stdout

    report = vmguard("fleet", "report", "--db", db, "--format", "json")
    assert report.code == 1  # critical findings reach the default --fail-on high
    doc = json.loads(report.stdout)
    assert doc["summary"]["images"] == 5
    assert doc["summary"]["by_worst_severity"]["critical"] == 4
    assert {g["kind"]: g["image_count"] for g in doc["shared_secrets"]} == {
        "cloud-credential": 3,
        "password-hash": 3,
        "ssh-host-key": 3,
        "authorized-key": 3,
    }
    assert doc["changes"]["previous_run"] == 1 and doc["changes"]["new_findings"] == []

    html = vmguard("fleet", "report", "--db", db, "--format", "html", "-o", tmp_path / "f.html")
    page = (tmp_path / "f.html").read_text()
    assert html.code == 1 and "<script" not in page and "http://" not in page.split("</style>")[1]
    assert "shared by 3 images" in page

    sarif = vmguard("fleet", "report", "--db", db, "--format", "sarif")
    rules = {r["ruleId"] for run in json.loads(sarif.stdout)["runs"] for r in run["results"]}
    assert "fleet.shared-ssh-host-key" in rules and "fleet.shared-cloud-credential" in rules

    console = vmguard("fleet", "report", "--db", db, "--fail-on", "critical")
    assert "secrets shared between images: 4" in console.stdout and console.code == 1
    again = json.loads(vmguard("fleet", "report", "--db", db, "--format", "json").stdout)
    assert {**again, "generated": None} == {**doc, "generated": None}  # reading writes nothing


def test_vulnerability_database_change_rematches_without_reading(
    fleet_dir: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    index = tmp_path / "vulns.sqlite"
    first_zip = write_all_zip(tmp_path / "a.zip", [debian_record("DSA-1-1", "bash", "99.0")])
    assert vmguard("db", "import", first_zip, "--db", index).code == 0
    db = tmp_path / "fleet.sqlite"
    images = [fleet_dir / "catalogue/web-1.raw", fleet_dir / "catalogue/web-2.raw"]
    args = ("fleet", "scan", *images, "--db", db, "--vulns", "--vulns-db", index)
    scanned = vmguard(*args, trace=True, timeout=300)
    assert "2 scanned" in scanned.stdout
    # Discovery opens each image once for its 4 KiB header; scanning opens it again.
    assert scanned.opened.count(str(images[0])) >= 2
    second_zip = write_all_zip(tmp_path / "b.zip", [debian_record("DSA-2-1", "dpkg", "99.0")])
    assert vmguard("db", "import", second_zip, "--db", index).code == 0
    rematch = vmguard(*args, trace=True, timeout=300)
    assert "0 scanned, 0 unchanged, 2 re-matched" in rematch.stdout, rematch.stderr
    assert rematch.opened.count(str(images[0])) == 1  # discovery only: never scanned
    doc = json.loads(vmguard("fleet", "report", "--db", db, "--format", "json").stdout)
    for image in doc["images"]:
        vulns = [f for f in image["findings"] if f["threat"] == "vulnerable-software"]
        assert len(vulns) == 2, image["path"]  # bash (first index) and dpkg (added since)
        assert "DSA-1-1" in json.dumps(vulns) and "DSA-2-1" in json.dumps(vulns)
    assert doc["changes"]["changed_images"] == [str(p) for p in images]
    assert len(doc["changes"]["new_findings"]) == 2
    assert all("DSA-2-1" in json.dumps(f) for f in doc["changes"]["new_findings"])


def test_usage_errors_are_one_line(tmp_path: Path) -> None:
    missing = vmguard("fleet", "scan", tmp_path / "nothing-here", "--db", tmp_path / "f.sqlite")
    assert missing.code == 2 and "no such file or directory" in _one_error_line(missing.stderr)
    no_sched = vmguard("fleet", "scan", tmp_path, "--engine", "dask")
    assert no_sched.code == 2 and "--scheduler" in _one_error_line(no_sched.stderr)
    port = free_port()
    dead = vmguard(
        "fleet",
        "scan",
        tmp_path,
        "--engine",
        "dask",
        "--scheduler",
        f"tcp://127.0.0.1:{port}",
        "--db",
        tmp_path / "f.sqlite",
        timeout=120,
    )
    assert dead.code == 2 and "Dask scheduler" in _one_error_line(dead.stderr)
    no_db = vmguard("fleet", "report", "--db", tmp_path / "none.sqlite")
    assert no_db.code == 2 and "fleet scan" in _one_error_line(no_db.stderr)
    bad_url = vmguard("fleet", "report", "--db", "mysql://u:hunter2@h/db")
    assert bad_url.code == 2 and "hunter2" not in bad_url.stderr


@pytest.mark.usefixtures("dask_scheduler")
def test_dask_engine_from_the_command_line(
    fleet_dir: Path,  # noqa: F811
    tmp_path: Path,
    dask_scheduler: str,  # noqa: F811
) -> None:
    run = vmguard(
        "fleet",
        "scan",
        fleet_dir / "catalogue",
        "--engine",
        "dask",
        "--scheduler",
        dask_scheduler,
        "--db",
        tmp_path / "f.sqlite",
        "--allow-dir",
        fleet_dir / "bases",
        timeout=300,
    )
    assert run.code == 0, run.stderr
    assert "4 scanned" in run.stdout and "1 failed" in run.stdout
