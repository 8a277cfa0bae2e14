"""inspect_image on the same guest in every container format: identical inventories."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from guestimages import ROOT_UUID, convert, make_ova
from vmguard.inspection import ImageOptions, inspect_image

VARIANTS = [
    "qcow2",
    "qcow2-compressed",
    "qcow2-v2",
    "vmdk-monolithicSparse",
    "vmdk-streamOptimized",
    "vmdk-twoGbMaxExtentSparse",
    "vmdk-monolithicFlat",
    "vhd-fixed",
    "vhd-dynamic",
    "vhdx",
]
# What legitimately differs between containers of the same guest.
CONTAINER_KEYS = {"format", "variant", "disks", "virtual_size"}


def _guest_part(report_inventory: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in report_inventory.items() if k not in CONTAINER_KEYS}


@pytest.fixture(scope="module")
def raw_inventory(debian_disk: Path) -> dict[str, object]:
    report = inspect_image(debian_disk, ImageOptions())
    assert report.inventory is not None
    return report.inventory.to_json()


def test_raw_inventory_describes_the_guest(raw_inventory: dict[str, object]) -> None:
    inv = raw_inventory
    assert inv["format"] == "raw"
    assert inv["os"]["distro"] == "debian"  # type: ignore[index]
    assert inv["os"]["version"].startswith("12.")  # type: ignore[index]
    assert inv["os"]["hostname"] == "vmguard-test"  # type: ignore[index]
    assert inv["os"]["arch"] == "x86_64"  # type: ignore[index]
    parts = inv["partitions"]
    assert [(p["index"], p["filesystem"], p["mountpoint"]) for p in parts] == [  # type: ignore[union-attr]
        (1, "vfat", "/boot/efi"),
        (2, "ext4", "/"),
        (3, "xfs", "/home"),
    ]
    assert parts[1]["uuid"] == ROOT_UUID  # type: ignore[index]
    users = {u["name"]: u for u in inv["users"]}  # type: ignore[union-attr]
    assert users["root"]["password"] == "locked"
    assert users["alice"] == {
        "name": "alice",
        "uid": 1000,
        "gid": 1000,
        "home": "/home/alice",
        "shell": "/bin/bash",
        "password": "hash",
    }
    names = {p["name"] for p in inv["packages"]}  # type: ignore[union-attr]
    assert {"base-files", "dpkg", "libc6", "coreutils"} <= names
    assert len(names) > 80


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_format_gives_the_identical_inventory(
    debian_variants, raw_inventory: dict[str, object], variant: str
) -> None:
    report = inspect_image(debian_variants.get(variant), ImageOptions())
    assert report.inventory is not None
    inv = report.inventory.to_json()
    assert inv["format"] == variant.split("-", maxsplit=1)[0]
    assert _guest_part(inv) == _guest_part(raw_inventory)
    if variant == "vhd-dynamic":
        # qemu rounds a dynamic VHD up to CHS geometry: the disk grew behind the GPT backup.
        assert [e.reason for e in report.errors] == [
            "backup header LBA 2052095 is not the last LBA 2052287 (disk truncated or resized)"
        ]
    else:
        assert report.errors == ()


def test_ova_is_read_in_place(debian_disk: Path, tmp_path: Path, raw_inventory) -> None:
    vmdk = convert(debian_disk, "vmdk-streamOptimized", tmp_path)
    ova = make_ova(vmdk, tmp_path / "appliance.ova")
    before = sorted(p.name for p in tmp_path.iterdir())
    report = inspect_image(ova, ImageOptions())
    assert report.inventory is not None
    inv = report.inventory.to_json()
    assert inv["format"] == "ova"
    assert inv["disks"][0]["format"] == "vmdk"
    assert _guest_part(inv) == _guest_part(raw_inventory)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing extracted


def test_content_decides_and_a_misleading_name_is_reported(debian_variants, tmp_path) -> None:
    disguised = tmp_path / "disk.raw"
    shutil.copy(debian_variants.get("qcow2"), disguised)
    report = inspect_image(disguised, ImageOptions())
    assert report.inventory is not None and report.inventory.format == "qcow2"
    assert [f.rule_id for f in report.findings] == ["image.format-mismatch"]
    assert "content is qcow2" in report.findings[0].evidence


def test_forced_format_is_never_second_guessed(debian_variants) -> None:
    # qcow2 bytes read as raw: no qcow2 semantics, so no partition table is found.
    report = inspect_image(debian_variants.get("qcow2"), ImageOptions(forced_format="raw"))
    assert report.inventory is not None
    assert report.inventory.format == "raw"
    assert report.inventory.os is None
