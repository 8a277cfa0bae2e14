"""The format table against real images: every format it names is recognised by content and
opened (or refused with its own reason) from a file the real tool wrote."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from guestimages import CONVERSIONS, convert, make_ova
from vmguard.disk.containers.interface import Reference, ReferenceKind
from vmguard.disk.errors import ImageRefused, UnsupportedFormat
from vmguard.disk.formats import FORMATS, READABLE_FORMATS, readable_format
from vmguard.disk.image import _ChainState, open_image
from vmguard.disk.limits import DEFAULT_LIMITS
from vmguard.disk.policy import HostPathPolicy
from vmguard.disk.probe import detect_format
from vmguard.disk.source import FileSource

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("qemu-img", "xorriso", "tar")),
    reason="needs qemu-img, xorriso and tar",
)
MIB = 1 << 20

NO_TOOL_WRITES = {
    "bochs": "qemu reads Bochs images but cannot create one",
    "cloop": "qemu reads cloop images but cannot create one",
    "dmg": "qemu reads DMG images but cannot create one; hdiutil is macOS only",
}
"""Formats in the table that no tool on a Linux build host writes: probed by unit tests only."""


def _qemu(fmt: str) -> Callable[[Path, Path], Path]:
    def build(raw: Path, outdir: Path) -> Path:
        out = outdir / f"disk.{fmt}"
        subprocess.run(
            ["qemu-img", "convert", "-f", "raw", "-O", fmt, str(raw), str(out)], check=True
        )
        return out

    return build


def _iso(raw: Path, outdir: Path) -> Path:
    out = outdir / "media.iso"
    subprocess.run(
        ["xorriso", "-as", "mkisofs", "-quiet", "-o", str(out), str(raw)],
        check=True,
        capture_output=True,
    )
    return out


def _v7_tar(raw: Path, outdir: Path) -> Path:
    out = outdir / "old.tar"
    subprocess.run(
        ["tar", "--format=v7", "-cf", str(out), "-C", str(raw.parent), raw.name], check=True
    )
    return out


def _variant(variant: str) -> Callable[[Path, Path], Path]:
    return lambda raw, outdir: convert(raw, variant, outdir)


def _ova(raw: Path, outdir: Path) -> Path:
    return make_ova(convert(raw, "vmdk-streamOptimized", outdir), outdir / "appliance.ova")


# Each readable format once per qemu-img variant vmguard's tests build.
READ: dict[str, tuple[str, Callable[[Path, Path], Path]]] = {
    "raw": ("raw", lambda raw, outdir: raw),
    "ova": ("ova", _ova),
    **{variant: (variant.split("-")[0], _variant(variant)) for variant in CONVERSIONS},
}
REFUSED: dict[str, Callable[[Path, Path], Path]] = {
    "qed": _qemu("qed"),
    "vdi": _qemu("vdi"),
    "parallels": _qemu("parallels"),
    "iso": _iso,
    "tar-v7": _v7_tar,
}


@pytest.fixture(scope="module")
def small_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4 MiB raw disk: a patterned first MiB, zeros, a patterned last sector."""
    raw = tmp_path_factory.mktemp("formats") / "small.raw"
    head = bytes(range(251)) * (MIB // 251)
    raw.write_bytes(head + bytes(4 * MIB - 512 - len(head)) + b"\x5a" * 512)
    assert raw.stat().st_size == 4 * MIB
    return raw


def test_every_format_in_the_table_is_built_here_or_said_why_not() -> None:
    readable = {name for name, _ in READ.values()}
    assert readable == set(READABLE_FORMATS)
    assert readable | set(REFUSED) | set(NO_TOOL_WRITES) == {f.name for f in FORMATS}
    assert all(readable_format(name).refusal is None for name in readable)


@pytest.mark.parametrize("variant", sorted(READ))
def test_readable_format_is_probed_and_opened(
    variant: str, small_raw: Path, tmp_path: Path
) -> None:
    name, build = READ[variant]
    image = build(small_raw, tmp_path)
    detection = detect_format(FileSource(image), image.name)
    assert (detection.format, detection.note, detection.contradicts_extension) == (
        name,
        None,
        False,
    )
    expected = small_raw.read_bytes()
    for forced in (None, name):
        opened = open_image(image, forced_format=forced)
        assert opened.format == name
        (disk,) = opened.disks
        assert disk.format == ("vmdk" if name == "ova" else name)
        assert disk.disk.read_at(0, len(expected)) == expected
        assert not disk.disk.read_at(len(expected), disk.disk.size).strip(b"\x00")


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_recognised_format_is_refused_with_its_reason(
    name: str, small_raw: Path, tmp_path: Path
) -> None:
    image = REFUSED[name](small_raw, tmp_path)
    refusal = next(f.refusal for f in FORMATS if f.name == name)
    assert refusal is not None
    with pytest.raises(UnsupportedFormat, match=re.escape(refusal)):
        detect_format(FileSource(image), image.name)
    with pytest.raises(UnsupportedFormat, match=re.escape(refusal)):
        open_image(image)
    with pytest.raises(UnsupportedFormat, match="is not one vmguard reads"):
        open_image(image, forced_format=name)


def test_an_image_may_name_only_what_its_format_has_a_place_for(small_raw: Path) -> None:
    """A reader that reported a reference its format cannot hold is refused before the
    host-path policy is even asked (here: a VHD naming an extent, a raw image naming a parent)."""
    for fmt, kind in (("vhd", ReferenceKind.EXTENT), ("raw", ReferenceKind.BACKING_FILE)):
        chain = _ChainState(HostPathPolicy(), DEFAULT_LIMITS)
        opener = chain.opener_for(small_raw, readable_format(fmt), 0, frozenset())
        with pytest.raises(ImageRefused, match=f"a {fmt} image cannot name"):
            opener(Reference(kind, small_raw.name, format="raw"))
        assert chain.opened == []
