"""Catalogue sources: directories by content, list files, libvirt storage pools."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmguard.fleet.errors import SourceError
from vmguard.fleet.sources import collect_catalogue

IMAGES = ("broken.qcow2", "clones/db-clone.qcow2", "web-1.qcow2", "web-1.raw", "web-2.raw")


def test_directory_is_searched_by_content(fleet_dir: Path, tmp_path: Path) -> None:
    catalogue = collect_catalogue([str(fleet_dir / "catalogue")])
    assert catalogue.images == tuple(str(fleet_dir / "catalogue" / n) for n in IMAGES)
    assert [(Path(s.where).name, s.reason) for s in catalogue.skipped] == [
        ("README.txt", "not a disk image")
    ]


def test_image_without_extension_found_and_text_named_qcow2_is_not(tmp_path: Path) -> None:
    disguised = tmp_path / "disk-without-extension"
    disguised.write_bytes(b"QFI\xfb" + bytes(508))
    (tmp_path / "notes.qcow2").write_text("not an image, whatever the name says\n")
    catalogue = collect_catalogue([str(tmp_path)])
    assert catalogue.images == (str(disguised),)
    assert [Path(s.where).name for s in catalogue.skipped] == ["notes.qcow2"]


def test_symlinks_are_not_followed(fleet_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "link.raw").symlink_to(fleet_dir / "catalogue/web-1.raw")
    catalogue = collect_catalogue([str(tmp_path)])
    assert catalogue.images == ()
    assert catalogue.skipped[0].reason == "symbolic link (not followed)"


def test_list_file_relative_paths_and_missing_entries(fleet_dir: Path, tmp_path: Path) -> None:
    listing = tmp_path / "images.txt"
    listing.write_text(
        f"# staging\n{fleet_dir}/catalogue/web-1.raw\n\n{fleet_dir}/catalogue/clones\ngone.qcow2\n"
    )
    catalogue = collect_catalogue([str(listing)])
    assert catalogue.images == (
        str(fleet_dir / "catalogue/clones/db-clone.qcow2"),
        str(fleet_dir / "catalogue/web-1.raw"),
    )
    assert [(Path(s.where).name, s.reason) for s in catalogue.skipped] == [
        ("gone.qcow2", "no such file")
    ]


def test_duplicates_are_scanned_once(fleet_dir: Path) -> None:
    one = str(fleet_dir / "catalogue/web-1.raw")
    catalogue = collect_catalogue([one, str(fleet_dir / "catalogue"), one])
    assert catalogue.images.count(one) == 1


def test_unusable_sources_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file or directory"):
        collect_catalogue([str(tmp_path / "missing")])
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SourceError, match="neither a disk image nor a UTF-8 list"):
        collect_catalogue([str(binary)])


def _node_xml(tmp_path: Path, pool_dir: Path, volumes: list[str]) -> Path:
    vols = "".join(
        f"<volume type='file'><name>{v}</name><capacity>1</capacity>"
        f"<target><path>{pool_dir / v}</path></target></volume>"
        for v in volumes
    )
    node = tmp_path / "node.xml"
    node.write_text(
        "<node>"
        "<pool type='dir'><name>images</name><uuid>35bb2ad9-388a-cdfe-461a-b8907f6e53fe</uuid>"
        f"<target><path>{pool_dir}</path></target>{vols}</pool>"
        "</node>"
    )
    return node


def test_libvirt_pool_volumes(fleet_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("libvirt")
    pool_dir = fleet_dir / "catalogue"
    node = _node_xml(tmp_path, pool_dir, ["web-1.raw", "web-2.raw", "README.txt", "gone.raw"])
    catalogue = collect_catalogue([f"test://{node}#images"])
    assert catalogue.images == (str(pool_dir / "web-1.raw"), str(pool_dir / "web-2.raw"))
    reasons = {Path(s.where).name: s.reason for s in catalogue.skipped}
    assert reasons["README.txt"] == "not a disk image"
    assert reasons["gone.raw"].startswith("volume file cannot be read")
    with pytest.raises(SourceError, match="no storage pool named 'other'"):
        collect_catalogue([f"test://{node}#other"])
    with pytest.raises(SourceError, match="cannot connect to libvirt"):
        collect_catalogue(["test:///nonexistent/node.xml"])
