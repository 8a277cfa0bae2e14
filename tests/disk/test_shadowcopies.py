"""Shadow copy stores: none on a volume without them; a hostile catalog refused cleanly.

A real store can only be made by Windows' volsnap driver, so no test here holds store
content: these tests cover the volume header probe and the bounds around libvshadow. The
headers written below are hostile input, placed where Windows puts the real one (0x1E00
of the NTFS volume)."""

from __future__ import annotations

import json
import struct
import subprocess
import uuid
from pathlib import Path

import pytest

from vmguard.disk.errors import CorruptImage
from vmguard.disk.filesystems import FsSignature
from vmguard.disk.shadowcopies import open_shadow_stores
from vmguard.disk.source import FileSource
from vmguard.scanning import ScanOptions, scan_image
from windowsimage import convert, windows_disk

VSS_IDENTIFIER = uuid.UUID("3808876b-c176-4e48-b7ae-04046e6cc752").bytes_le
NTFS = FsSignature("ntfs")


def _volume_header(catalog_offset: int) -> bytes:
    header = bytearray(512)
    header[:16] = VSS_IDENTIFIER
    # version 1, record type 1 (volume header), its own offset, two unknowns, catalog
    # offset, maximum size
    struct.pack_into("<IIQQQQQ", header, 16, 1, 1, 0x1E00, 0, 0, catalog_offset, 1 << 20)
    return bytes(header)


def _ntfs(tmp_path: Path) -> Path:
    image = tmp_path / "ntfs.img"
    with open(image, "wb") as fh:
        fh.truncate(64 << 20)
    subprocess.run(["mkntfs", "-q", "-F", "-Q", str(image)], check=True, capture_output=True)
    return image


def _patch(image: Path, offset: int, data: bytes) -> None:
    with open(image, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)


def test_volume_without_shadow_copies_has_no_stores(tmp_path: Path) -> None:
    assert open_shadow_stores(FileSource(_ntfs(tmp_path)), NTFS) == []


def test_header_without_catalog_has_no_stores(tmp_path: Path) -> None:
    image = _ntfs(tmp_path)
    _patch(image, 0x1E00, _volume_header(0))
    assert open_shadow_stores(FileSource(image), NTFS) == []


@pytest.mark.parametrize("catalog", [0x7FFF_FFFF_0000, 0x100000])
def test_hostile_catalog_is_refused(tmp_path: Path, catalog: int) -> None:
    image = _ntfs(tmp_path)
    _patch(image, 0x1E00, _volume_header(catalog))
    _patch(image, 0x100000, b"\xff" * 16384)  # not a catalog block
    with pytest.raises(CorruptImage) as refused:
        open_shadow_stores(FileSource(image), NTFS)
    message = refused.value.diagnostics()
    assert "\n" not in message and len(message) < 400


def test_hostile_catalog_in_a_guest_is_an_error_and_the_scan_goes_on(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "Windows/System32/config").mkdir(parents=True)
    (tree / "Users/alice/.aws").mkdir(parents=True)
    (tree / "Users/alice/.aws/credentials").write_text(
        "[default]\naws_access_key_id = AKIAZ7QW3ERT5YUI2OPA\n"
        "aws_secret_access_key = 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\n"
    )
    raw = windows_disk(tree, tmp_path)
    table = json.loads(subprocess.run(["sfdisk", "-J", str(raw)], capture_output=True).stdout)
    start = table["partitiontable"]["partitions"][2]["start"] * 512
    _patch(raw, start + 0x1E00, _volume_header(0x100000))
    _patch(raw, start + 0x100000, b"\xff" * 16384)
    report = scan_image(convert(raw, "qcow2"), ScanOptions(workers=1))
    assert [e.where for e in report.errors] == ["windows.qcow2 partition 3 shadow copies"]
    assert {f.location.path for f in report.findings} == {"/Users/alice/.aws/credentials"}
