"""Reading OSV archives, files and directories: real zips, hostile ones, bad records."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zipfile
from pathlib import Path

import pytest

from vmguard.problems import Problem
from vmguard.vulns.errors import AdvisoryImportError
from vmguard.vulns.osv_import import ImportLimits, ParsedRecord, read_source

from .osvdata import debian_record, rocky_record, write_all_zip


def _items(path: Path, limits: ImportLimits | None = None) -> list[ParsedRecord | Problem]:
    return list(read_source(path, limits or ImportLimits()))


def test_all_zip_directory_and_json_list(tmp_path: Path) -> None:
    records = [debian_record(f"DSA-{n}-1", "glibc", f"2.36-{n}") for n in range(5)]
    archive = write_all_zip(tmp_path / "all.zip", records)
    parsed = [i for i in _items(archive) if isinstance(i, ParsedRecord)]
    assert [p.advisory.id for p in parsed] == [r["id"] for r in records]
    assert parsed[0].advisory.affected[0].ranges == ((("introduced", "0"), ("fixed", "2.36-0")),)
    folder = tmp_path / "osv"
    (folder / "sub").mkdir(parents=True)
    for record in records:
        (folder / "sub" / f"{record['id']}.json").write_text(json.dumps(record))
    assert len([i for i in _items(folder) if isinstance(i, ParsedRecord)]) == 5
    listing = tmp_path / "list.json"
    listing.write_text(json.dumps(records))
    assert len([i for i in _items(listing) if isinstance(i, ParsedRecord)]) == 5


def test_bad_records_are_skipped_with_reasons(tmp_path: Path) -> None:
    good = rocky_record(
        "RLSA-1", {"openssl": "1:3-1"}, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
    )
    no_id = dict(good, id=None)
    two_kinds = json.loads(json.dumps(good))
    two_kinds["id"] = "RLSA-2"
    two_kinds["affected"][0]["ranges"][0]["events"] = [{"introduced": "0", "fixed": "1"}]
    no_introduced = json.loads(json.dumps(good))
    no_introduced["id"] = "RLSA-3"
    no_introduced["affected"][0]["ranges"][0]["events"] = [{"fixed": "1"}]
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("RLSA-1.json", json.dumps(good))
        z.writestr("no-id.json", json.dumps(no_id))
        z.writestr("RLSA-2.json", json.dumps(two_kinds))
        z.writestr("RLSA-3.json", json.dumps(no_introduced))
        z.writestr("broken.json", b'{"id": "x", ')
        z.writestr("deep.json", b"[" * 100_000 + b"]" * 100_000)
        z.writestr("README.txt", b"not an advisory")
        z.writestr("../../escape.json", json.dumps(dict(good, id="RLSA-4")))
    items = _items(archive)
    reasons = {i.where.rsplit("!", 1)[1]: i.reason for i in items if isinstance(i, Problem)}
    assert set(reasons) == {
        "no-id.json",
        "RLSA-2.json",
        "RLSA-3.json",
        "broken.json",
        "deep.json",
        "README.txt",
    }
    assert "id" in reasons["no-id.json"]
    assert "exactly one" in reasons["RLSA-2.json"]
    assert "introduced" in reasons["RLSA-3.json"]
    parsed = {i.advisory.id for i in items if isinstance(i, ParsedRecord)}
    # A member named with ../ is read as data; nothing is ever written outside.
    assert parsed == {"RLSA-1", "RLSA-4"}
    assert not (tmp_path.parent / "escape.json").exists()


def _bomb(path: Path, size: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bomb.json", b" " * size)


def test_zip_bomb_member_is_refused_by_size(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    _bomb(archive, 64 * 1024 * 1024)
    assert archive.stat().st_size < 200_000
    items = _items(archive, ImportLimits(max_record_bytes=1024 * 1024))
    assert len(items) == 1 and isinstance(items[0], Problem)
    assert "larger than" in items[0].reason


def test_zip_member_lying_about_its_size_is_not_read_past_the_cap(tmp_path: Path) -> None:
    archive = tmp_path / "liar.zip"
    _bomb(archive, 8 * 1024 * 1024)
    data = bytearray(archive.read_bytes())
    # Rewrite the uncompressed size in the local header and the central directory to 100.
    local = data.index(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 22, 100)
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 100)
    archive.write_bytes(bytes(data))
    items = _items(archive, ImportLimits(max_record_bytes=1024))
    assert len(items) == 1 and isinstance(items[0], Problem)


def test_caps_on_members_and_total_size_stop_the_import(tmp_path: Path) -> None:
    archive = write_all_zip(
        tmp_path / "all.zip", [debian_record(f"DSA-{n}-1", "glibc", "1") for n in range(11)]
    )
    with pytest.raises(AdvisoryImportError, match="more than 10"):
        _items(archive, ImportLimits(max_members=10))
    with pytest.raises(AdvisoryImportError, match="uncompressed bytes"):
        _items(archive, ImportLimits(max_total_bytes=2000))


def test_unusable_inputs_raise_one_clear_error(tmp_path: Path) -> None:
    not_osv = tmp_path / "image.qcow2"
    not_osv.write_bytes(b"QFI\xfb" + bytes(100))
    with pytest.raises(AdvisoryImportError, match="neither a zip archive nor OSV JSON"):
        _items(not_osv)
    truncated = tmp_path / "cut.zip"
    truncated.write_bytes(
        write_all_zip(tmp_path / "a.zip", [debian_record("D-1", "x", "1")]).read_bytes()[:40]
    )
    with pytest.raises(AdvisoryImportError, match="not a readable zip"):
        _items(truncated)
    with pytest.raises(AdvisoryImportError):
        _items(tmp_path / "missing.zip")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{nope")
    with pytest.raises(AdvisoryImportError, match="not JSON"):
        _items(bad_json)


def test_directory_walk_does_not_follow_links_and_leaves_inputs_alone(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.json").write_text(json.dumps(debian_record("DSA-OUT-1", "x", "1")))
    folder = tmp_path / "osv"
    folder.mkdir()
    (folder / "DSA-1-1.json").write_text(json.dumps(debian_record("DSA-1-1", "x", "1")))
    os.symlink(outside, folder / "linked-dir")
    os.symlink(outside / "secret.json", folder / "linked.json")
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.json")}
    items = _items(folder)
    ids = {i.advisory.id for i in items if isinstance(i, ParsedRecord)}
    assert ids == {"DSA-1-1"}
    assert any(isinstance(i, Problem) and "regular" in i.reason for i in items)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.json")}
    assert before == after


def _central_record(data: bytearray) -> int:
    """Offset of the first central-directory record of a one-member archive."""
    return data.index(b"PK\x01\x02")


def _hostile_zip(tmp_path: Path, case: str) -> Path:
    """A real all.zip, then one field of its central directory changed the way a fuzzer did."""
    path = tmp_path / f"{case}.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("DSA-1-1.json", json.dumps(debian_record("DSA-1-1", "glibc", "2.36-1")))
    data = bytearray(path.read_bytes())
    central = _central_record(data)
    if case == "truncated-member":
        # A stored member claiming more bytes than the file holds: zipfile reads into EOF.
        struct.pack_into("<II", data, central + 20, len(data) * 4, len(data) * 4)
    elif case == "future-version":
        # "version needed to extract" 9.9: zipfile refuses it while reading the directory.
        struct.pack_into("<H", data, central + 6, 99)
    elif case == "empty-name":
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        struct.pack_into("<H", data, central + 28, 0)
        del data[central + 46 : central + 46 + name_length]
        end = data.index(b"PK\x05\x06")
        size = struct.unpack_from("<I", data, end + 12)[0]
        struct.pack_into("<I", data, end + 12, size - name_length)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("case", ["truncated-member", "future-version", "empty-name"])
def test_hostile_zip_structures_end_in_an_import_error_or_a_skip(tmp_path: Path, case: str) -> None:
    """Fuzzer finds: EOFError (shown as "aborted"), NotImplementedError and IndexError escaped
    from zipfile; each must be the import's own error or a skipped record."""
    path = _hostile_zip(tmp_path, case)
    try:
        items = _items(path)
    except AdvisoryImportError as err:
        assert str(path) in str(err)
        return
    assert items and all(isinstance(i, Problem) for i in items), items
