"""``db update`` against a real loopback HTTP server: real-format archives imported, 304
and resumed transfers honoured, and hostile answers (truncated, zip bomb, wrong content
type, slow drip) refused within their bounds, leaving the kept copy and the index alone."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from clirunner import vmguard
from vmguard.cli.db_cmd import OSV_SOURCE
from vmguard.vulns.download import DownloadError, FetchLimits
from vmguard.vulns.index import open_index
from vmguard.vulns.update import DEFAULT_SOURCE, archive_dir, update_ecosystem

from .osvdata import debian_record, write_all_zip
from .osvserver import Served, Site, osv_server


def _archive(tmp_path: Path, count: int = 40) -> bytes:
    records = [debian_record(f"DSA-{i}-1", f"pkg{i}", f"1.{i}-1") for i in range(count)]
    return write_all_zip(tmp_path / "src.zip", records).read_bytes()


def _advisories(db: Path) -> int:
    with open_index(db) as index:
        return index.status().advisories


def test_default_source_is_one_value() -> None:
    assert OSV_SOURCE == DEFAULT_SOURCE


def test_update_imports_then_304_then_new_content(tmp_path: Path) -> None:
    db = tmp_path / "vulns.sqlite"
    site = Site({"/Debian/all.zip": Served(_archive(tmp_path))})
    with osv_server(site) as url:
        first = update_ecosystem(db, "Debian", url)
        assert first.modified and first.imported is not None
        assert first.imported.counts.added == 40
        second = update_ecosystem(db, "Debian", url)
        assert not second.modified
        assert site.requests[-1][1].get("If-None-Match") == site.files["/Debian/all.zip"].etag
        assert site.requests[-1][1].get("If-Modified-Since")
        site.files["/Debian/all.zip"] = Served(_archive(tmp_path, 45))
        third = update_ecosystem(db, "Debian", url)
    assert third.modified and third.imported is not None
    assert (third.imported.counts.added, third.imported.counts.unchanged) == (5, 40)
    assert _advisories(db) == 45


def test_interrupted_transfer_resumes_with_a_range(tmp_path: Path) -> None:
    db = tmp_path / "vulns.sqlite"
    body = _archive(tmp_path, 200)
    site = Site({"/PyPI/all.zip": Served(body, cut_after=len(body) // 3)})
    with osv_server(site) as url:
        with pytest.raises(DownloadError, match="ended at"):
            update_ecosystem(db, "PyPI", url)
        assert not db.exists() or _advisories(db) == 0
        resumed = update_ecosystem(db, "PyPI", url)
    assert resumed.resumed_from == len(body) // 3
    headers = site.requests[-1][1]
    assert headers["Range"] == f"bytes={len(body) // 3}-"
    assert headers["If-Range"] == site.files["/PyPI/all.zip"].etag
    assert (archive_dir(db, "PyPI") / "all.zip").read_bytes() == body
    assert _advisories(db) == 200


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("BOMB-1.json", b"{" + b" " * (12 * 1024 * 1024) + b"}")
    return buffer.getvalue()


def _not_json() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("X-1.json", json.dumps(debian_record("X-1", "a", "1")))
        archive.writestr("X-2.json", b"<html>not json</html>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("served", "message"),
    [
        (lambda body: Served(body[: len(body) // 2]), "not a readable zip"),
        (lambda body: Served(_zip_bomb()), "refused"),
        (lambda body: Served(body, content_type="text/html"), "not a zip archive"),
        (lambda body: Served(_not_json()), "not JSON"),
        (lambda body: Served(body, drip=0.05), "slower than"),
    ],
    ids=["truncated", "zip-bomb", "content-type", "not-json", "slow-drip"],
)
def test_hostile_answers_leave_kept_copy_and_index(
    tmp_path: Path, served: Callable[[bytes], Served], message: str
) -> None:
    db = tmp_path / "vulns.sqlite"
    good = _archive(tmp_path)
    site = Site({"/Debian/all.zip": Served(good)})
    with osv_server(site) as url:
        update_ecosystem(db, "Debian", url)
        site.files["/Debian/all.zip"] = served(_archive(tmp_path, 60))
        limits = FetchLimits(read_timeout=2, deadline=1.0)
        with pytest.raises(DownloadError, match=message):
            update_ecosystem(db, "Debian", url, fetch_limits=limits)
    assert (archive_dir(db, "Debian") / "all.zip").read_bytes() == good
    assert _advisories(db) == 40
    if message in ("not a readable zip", "refused", "not JSON"):  # refused after arrival
        assert not (archive_dir(db, "Debian") / "all.zip.part").exists()


def test_oversized_answer_is_refused_before_reading(tmp_path: Path) -> None:
    site = Site({"/npm/all.zip": Served(_archive(tmp_path))})
    with osv_server(site) as url, pytest.raises(DownloadError, match="more than"):
        update_ecosystem(
            tmp_path / "v.sqlite", "npm", url, fetch_limits=FetchLimits(max_bytes=1000)
        )


def test_cli_update_uses_the_index_ecosystems_and_reports(tmp_path: Path) -> None:
    db = tmp_path / "vulns.sqlite"
    site = Site({"/Debian/all.zip": Served(_archive(tmp_path))})
    with osv_server(site) as url:
        first = vmguard("db", "update", "--ecosystem", "Debian", "--source", url, "--db", db)
        assert first.code == 0, first.stderr
        assert "40 added" in first.stdout
        again = vmguard("db", "update", "--source", url, "--db", db)  # ecosystems from the index
        assert again.code == 0, again.stderr
        assert "Debian: not modified" in again.stdout
        site.files["/Debian/all.zip"] = Served(b"<html>captive portal</html>", "text/html")
        site.files["/Debian/all.zip"].body += b" "
        refused = vmguard("db", "update", "--source", url, "--db", db)
    assert refused.code == 2
    assert refused.stderr.startswith("vmguard: error:") and "not a zip" in refused.stderr
    unknown = vmguard("db", "update", "--ecosystem", "Nope", "--db", db)
    assert unknown.code == 2 and "unknown ecosystem" in unknown.stderr
    empty = vmguard("db", "update", "--db", tmp_path / "none.sqlite")
    assert empty.code == 2 and "nothing to update" in empty.stderr
