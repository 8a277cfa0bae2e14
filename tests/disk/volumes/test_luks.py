"""LUKS volumes made by cryptsetup: detected, UUID reported, never opened (case B.20)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest

from vmguard.disk.limits import Limits
from vmguard.disk.source import FileSource
from vmguard.disk.volumes.luks import probe_luks
from vmguard.disk.volumes.scan import scan_volumes

pytestmark = pytest.mark.skipif(
    shutil.which("cryptsetup") is None or shutil.which("sfdisk") is None,
    reason="needs cryptsetup and sfdisk",
)
MIB = 1 << 20


def luks_format(path: Path, version: int, size: int = 4 * MIB) -> str:
    """Format a plain file as LUKS; returns the UUID cryptsetup reports."""
    with path.open("wb") as f:
        f.truncate(size)
    key = path.with_suffix(".key")
    key.write_bytes(b"correct horse")
    subprocess.run(
        ["cryptsetup", "luksFormat", "--batch-mode", "--type", f"luks{version}",
         "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--key-file", str(key),
         str(path)],
        check=True, capture_output=True,
    )  # fmt: skip
    out = subprocess.run(["cryptsetup", "luksUUID", str(path)], capture_output=True, text=True)
    return out.stdout.strip()


def gpt_with(path: Path, payloads: list[Path]) -> None:
    """A GPT disk whose partitions 1.. hold the payload files (dd'd in at 1 MiB, 6 MiB...)."""
    with path.open("wb") as f:
        f.truncate(32 * MIB)
    script = "label: gpt\n" + "".join(f"start={2048 + i * 10240}, size=10240\n"
                                      for i in range(len(payloads)))  # fmt: skip
    subprocess.run(["sfdisk", "-q", str(path)], input=script, text=True, check=True)
    for i, payload in enumerate(payloads):
        subprocess.run(
            ["dd", f"if={payload}", f"of={path}", "bs=1M", f"seek={1 + i * 5}", "conv=notrunc",
             "status=none"], check=True,
        )  # fmt: skip


@pytest.mark.parametrize("version", [1, 2])
def test_luks_in_gpt_partition(tmp_path: Path, version: int) -> None:
    payload = tmp_path / f"luks{version}.img"
    want = luks_format(payload, version)
    disk = tmp_path / "disk.img"
    gpt_with(disk, [payload])
    layout = scan_volumes(FileSource(disk), limits=Limits())
    assert layout.problems == ()
    (vol,) = layout.volumes
    assert (vol.scheme, vol.index, vol.encryption, vol.uuid) == ("gpt", 1, f"luks{version}", want)


def test_luks_on_bare_disk(tmp_path: Path) -> None:
    img = tmp_path / "luks2.img"
    want = luks_format(img, 2)
    layout = scan_volumes(FileSource(img), limits=Limits())
    assert layout.scheme == "none"
    assert (layout.volumes[0].encryption, layout.volumes[0].uuid) == ("luks2", want)


def test_absurd_iterations_do_not_matter(tmp_path: Path) -> None:
    """Case B.20: 2^32-1 PBKDF2 iterations in the digest and key slot 0; never used."""
    img = tmp_path / "luks1.img"
    want = luks_format(img, 1)
    with img.open("r+b") as f:
        for offset in (164, 212):
            f.seek(offset)
            f.write(struct.pack(">I", 0xFFFFFFFF))
    started = time.monotonic()
    header = probe_luks(FileSource(img))
    assert time.monotonic() - started < 0.1
    assert header is not None
    assert (header.encryption, header.uuid, header.problem) == ("luks1", want, None)


def test_luks2_secondary_header_when_primary_wiped(tmp_path: Path) -> None:
    img = tmp_path / "luks2.img"
    want = luks_format(img, 2)
    with img.open("r+b") as f:
        f.write(bytes(4096))
    layout = scan_volumes(FileSource(img), limits=Limits())
    assert (layout.volumes[0].encryption, layout.volumes[0].uuid) == ("luks2", want)
    assert [(p.where, p.reason) for p in layout.problems] == [
        ("disk", "primary LUKS2 header missing; secondary header found at 16384")
    ]


def test_garbage_uuid_is_reported(tmp_path: Path) -> None:
    img = tmp_path / "luks1.img"
    luks_format(img, 1)
    with img.open("r+b") as f:
        f.seek(168)
        f.write(b"../../etc/passwd\n")
    layout = scan_volumes(FileSource(img), limits=Limits())
    assert (layout.volumes[0].encryption, layout.volumes[0].uuid) == ("luks1", None)
    assert layout.problems[0].reason == "LUKS UUID field is not a UUID"


def test_unknown_version_is_not_luks(tmp_path: Path) -> None:
    img = tmp_path / "luks1.img"
    luks_format(img, 1)
    with img.open("r+b") as f:
        f.seek(6)
        f.write(b"\x00\x07")
    assert probe_luks(FileSource(img)) is None
