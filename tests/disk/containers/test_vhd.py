"""VHD reader: qemu-made images read byte for byte like ``qemu-img convert -O raw``; hostile
images (malicious-images.md A.9, B.19) fail with specific errors and bounded memory."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import struct
import subprocess
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from vmguard.disk.containers.interface import Reference, ReferenceKind, no_references
from vmguard.disk.containers.vhd import (
    VHD_COOKIE,
    looks_like_vhd,
    open_vhd,
    vhd_checksum,
)
from vmguard.disk.errors import (
    CorruptImage,
    DiskError,
    ImageRefused,
    LimitExceeded,
    UnsupportedFormat,
)
from vmguard.disk.limits import Limits
from vmguard.disk.source import ByteSource, FileSource

MiB = 1024 * 1024
RAW_SIZE = 72 * MiB + 3584
LIMITS = Limits()


def qemu_img(*args: str) -> str:
    return subprocess.run(["qemu-img", *args], check=True, capture_output=True, text=True).stdout


def make_raw(path: Path, size: int, seed: int, chunks: int = 14) -> None:
    """Random data at unaligned offsets, zero holes between (so dynamic images are sparse)."""
    rng = random.Random(seed)
    with path.open("wb") as f:
        f.truncate(size)
        for _ in range(chunks):
            length = rng.randrange(1, 3 * MiB)
            f.seek(rng.randrange(0, size - length))
            f.write(rng.randbytes(length))
        f.seek(size - 1000)
        f.write(b"end-of-disk marker" * 40)


def disk_digest(disk: ByteSource, chunk: int = 4 * MiB) -> str:
    h = hashlib.sha256()
    for pos in range(0, disk.size, chunk):
        h.update(disk.read_at(pos, chunk))
    return h.hexdigest()


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(4 * MiB):
            h.update(block)
    return h.hexdigest()


def open_path(path: Path, opener: Callable[[Reference], ByteSource] = no_references):
    return open_vhd(FileSource(path), limits=LIMITS, open_reference=opener)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("vhd")
    raw = d / "disk.raw"
    make_raw(raw, RAW_SIZE, seed=1)
    out = {"raw": raw}
    for name, opts in {
        "fixed": "subformat=fixed",
        "dynamic": "subformat=dynamic",
        "forced": "subformat=dynamic,force_size=on",
    }.items():
        out[name] = d / f"{name}.vhd"
        qemu_img("convert", "-f", "raw", "-O", "vpc", "-o", opts, str(raw), str(out[name]))
        out[f"{name}.raw"] = d / f"{name}.out"
        qemu_img("convert", "-f", "vpc", "-O", "raw", str(out[name]), str(out[f"{name}.raw"]))
    return out


@pytest.mark.parametrize(
    ("name", "variant"), [("fixed", "fixed"), ("dynamic", "dynamic"), ("forced", "dynamic")]
)
def test_reads_like_qemu(images: dict[str, Path], name: str, variant: str) -> None:
    container = open_path(images[name])
    assert (container.format, container.variant) == ("vhd", variant)
    info = json.loads(qemu_img("info", "-f", "vpc", "--output=json", str(images[name])))
    assert container.disk.size == info["virtual-size"] == images[f"{name}.raw"].stat().st_size
    assert disk_digest(container.disk) == file_digest(images[f"{name}.raw"])


def test_force_size_keeps_exact_size(images: dict[str, Path]) -> None:
    assert open_path(images["forced"]).disk.size == RAW_SIZE
    assert open_path(images["dynamic"]).disk.size >= RAW_SIZE  # CHS rounding


def test_unaligned_reads_match(images: dict[str, Path]) -> None:
    disk = open_path(images["dynamic"]).disk
    expected = images["dynamic.raw"].read_bytes()
    rng = random.Random(7)
    for _ in range(200):
        offset = rng.randrange(0, disk.size)
        length = rng.randrange(0, 5 * MiB)
        assert disk.read_at(offset, length) == expected[offset : offset + length]
    assert disk.read_at(disk.size, 10) == b""
    assert disk.read_at(disk.size - 3, 10) == expected[-3:]


def test_data_ranges_cover_all_data(images: dict[str, Path]) -> None:
    disk = open_path(images["dynamic"]).disk
    expected = images["dynamic.raw"].read_bytes()
    ranges = list(disk.data_ranges())
    assert ranges, "a disk with data has ranges"
    pos = 0
    for r in ranges:
        assert r.offset >= pos and r.length > 0
        assert expected[pos : r.offset].count(0) == r.offset - pos
        pos = r.offset + r.length
    assert expected[pos:].count(0) == len(expected) - pos
    assert sum(r.length for r in ranges) < disk.size  # holes stay holes


def test_pyvhdi_agrees(images: dict[str, Path]) -> None:
    pyvhdi = pytest.importorskip("pyvhdi")
    disk = open_path(images["dynamic"]).disk
    f = pyvhdi.file()
    f.open(str(images["dynamic"]))
    try:
        for offset in (0, 3 * MiB + 123, disk.size - 5000):
            f.seek_offset(offset, 0)
            assert f.read_buffer(4096) == disk.read_at(offset, 4096)
    finally:
        f.close()


def test_looks_like_vhd(images: dict[str, Path]) -> None:
    for name in ("fixed", "dynamic"):
        data = images[name].read_bytes()
        assert looks_like_vhd(data[:512], data[-1024:])
    assert not looks_like_vhd(b"\0" * 512, b"\0" * 1024)
    assert looks_like_vhd(b"\0" * 512, b"x" * 100 + VHD_COOKIE + b"\0" * 504)


# --- helpers to rewrite real images ------------------------------------------------------


def set_footer(data: bytearray, offset: int, **fields: int) -> None:
    """Rewrite footer fields at ``offset`` and fix its checksum."""
    layout = {"data_offset": (16, ">Q"), "current_size": (48, ">Q"), "disk_type": (60, ">I")}
    for key, value in fields.items():
        at, fmt = layout[key]
        struct.pack_into(fmt, data, offset + at, value)
    footer = bytes(data[offset : offset + 512])
    struct.pack_into(">I", data, offset + 64, vhd_checksum(footer, 64))


def set_both_footers(data: bytearray, **fields: int) -> None:
    set_footer(data, 0, **fields)
    set_footer(data, len(data) - 512, **fields)


def fix_header(data: bytearray) -> None:
    header = bytes(data[512:1536])
    struct.pack_into(">I", data, 512 + 36, vhd_checksum(header, 36))


def write(tmp_path: Path, data: bytes | bytearray, name: str = "x.vhd") -> Path:
    path = tmp_path / name
    path.write_bytes(bytes(data))
    return path


def make_differencing(child: bytes, names: dict[str, str], header_name: str) -> bytearray:
    """malicious-images A.9: disk type 4, parent unicode name, W2ku/W2ru locators."""
    body = bytearray(child[:-512])
    footer = child[-512:]
    for slot, (code, name) in enumerate(names.items()):
        encoded = name.encode("utf-16-le")
        at = len(body)
        body += encoded + bytes(-len(encoded) % 512)
        struct.pack_into(
            ">4sIIIQ", body, 512 + 576 + slot * 24, code.encode(), 1, len(encoded), 0, at
        )
    unicode_name = header_name.encode("utf-16-be")
    body[512 + 64 : 512 + 64 + 512] = unicode_name + bytes(512 - len(unicode_name))
    data = body + footer
    fix_header(data)
    set_both_footers(data, disk_type=4)
    return data


@pytest.fixture(scope="module")
def diff_images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("vhddiff")
    parent_raw, child_raw = d / "parent.raw", d / "child.raw"
    size = 24 * MiB
    make_raw(parent_raw, size, seed=2, chunks=30)
    make_raw(child_raw, size, seed=3, chunks=4)
    for name in ("parent", "child"):
        qemu_img(
            "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic,force_size=on",
            str(d / f"{name}.raw"), str(d / f"{name}.vhd"),
        )  # fmt: skip
    return {"dir": d, "parent.raw": parent_raw, "child.raw": child_raw,
            "parent": d / "parent.vhd", "child": d / "child.vhd"}  # fmt: skip


class RecordingOpener:
    def __init__(self, parent: Path | None) -> None:
        self.parent = parent
        self.calls: list[Reference] = []

    def __call__(self, reference: Reference) -> ByteSource:
        self.calls.append(reference)
        if self.parent is None:
            raise ImageRefused(f"backing file {reference.name!r} refused by test policy")
        return open_path(self.parent).disk


def test_differencing_reads_through_parent(diff_images: dict[str, Path], tmp_path: Path) -> None:
    child = bytearray(diff_images["child"].read_bytes())
    # Clear bitmap bits of an allocated block so some sectors come from the parent.
    table_offset = struct.unpack_from(">Q", child, 512 + 16)[0]
    entries = struct.unpack_from(">I", child, 512 + 28)[0]
    bat = struct.unpack_from(f">{entries}I", child, table_offset)
    index = next(i for i, e in enumerate(bat) if e != 0xFFFFFFFF)
    bitmap_at = bat[index] * 512
    child[bitmap_at] = 0b00011111  # sectors 0-2 from the parent
    child[bitmap_at + 100 : bitmap_at + 140] = bytes(40)  # sectors 800-1119 too
    data = make_differencing(bytes(child), {"W2ru": "parent.vhd", "W2ku": "C:\\p.vhd"}, "p.vhd")
    path = write(tmp_path, data)
    opener = RecordingOpener(diff_images["parent"])
    container = open_path(path, opener)
    assert container.variant == "differencing"
    assert opener.calls == [Reference(ReferenceKind.BACKING_FILE, "parent.vhd", format="vhd")]
    assert container.references == tuple(opener.calls)

    parent = diff_images["parent.raw"].read_bytes()
    mine = diff_images["child.raw"].read_bytes()
    expected = bytearray(parent)
    block = 2 * MiB
    for i, entry in enumerate(bat):
        if entry == 0xFFFFFFFF:
            continue
        bits = bin(int.from_bytes(data[entry * 512 : entry * 512 + 512], "big") | 1 << 4096)[3:]
        for s, bit in enumerate(bits):
            at = i * block + s * 512
            if bit == "1" and at < len(mine):
                expected[at : at + 512] = mine[at : at + 512]
    got = container.disk.read_at(0, container.disk.size)
    assert got == bytes(expected)
    assert [(r.offset, r.length) for r in container.disk.data_ranges()]  # merged, non-empty


def test_differencing_name_fallbacks(diff_images: dict[str, Path], tmp_path: Path) -> None:
    child = diff_images["child"].read_bytes()
    opener = RecordingOpener(None)
    path = write(tmp_path, make_differencing(child, {}, "/etc/shadow"))
    with pytest.raises(ImageRefused, match="refused by test policy"):
        open_path(path, opener)
    assert opener.calls[0].name == "/etc/shadow"
    path = write(tmp_path, make_differencing(child, {"W2ku": "C:\\abs\\p.vhd"}, ""))
    with pytest.raises(ImageRefused):
        open_path(path, opener)
    assert opener.calls[1].name == "C:\\abs\\p.vhd"
    path = write(tmp_path, make_differencing(child, {}, ""))
    with pytest.raises(ImageRefused, match="names no parent"):
        open_path(path, opener)
    assert len(opener.calls) == 2


def test_differencing_default_opener_refuses(diff_images: dict[str, Path], tmp_path: Path) -> None:
    data = make_differencing(diff_images["child"].read_bytes(), {"W2ru": "/tmp/x"}, "")
    with pytest.raises(ImageRefused, match="may not name other files"):
        open_path(write(tmp_path, data))


def test_bad_locator_utf16(diff_images: dict[str, Path], tmp_path: Path) -> None:
    data = make_differencing(diff_images["child"].read_bytes(), {"W2ru": "ab"}, "")
    at = struct.unpack_from(">Q", data, 512 + 576 + 16)[0]
    data[at : at + 4] = b"\x00\xd8\x00\xd8"  # two lone high surrogates
    fix_header(data)
    with pytest.raises(CorruptImage, match="locator 0 is not valid utf-16-le"):
        open_path(write(tmp_path, data), RecordingOpener(None))


# --- hostile structures -------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_dynamic(diff_images: dict[str, Path]) -> bytes:
    return diff_images["child"].read_bytes()


def test_huge_bat_entries_refused(small_dynamic: bytes, tmp_path: Path) -> None:
    """malicious-images B.19: 0xFFFFFFFF BAT entries, then with a 2^60 disk size."""
    data = bytearray(small_dynamic)
    struct.pack_into(">I", data, 512 + 28, 0xFFFFFFFF)
    fix_header(data)
    with pytest.raises(LimitExceeded, match="max table entries 4294967295 exceeds the 12 blocks"):
        open_path(write(tmp_path, data))
    set_both_footers(data, current_size=1 << 60)
    path = write(tmp_path, data)
    tracemalloc.start()
    try:
        with pytest.raises(LimitExceeded, match="exceeds the 2040 GiB"):
            open_path(path)
        assert tracemalloc.get_traced_memory()[1] < 4 * MiB
    finally:
        tracemalloc.stop()
    set_both_footers(data, current_size=2000 * 1024**3)
    struct.pack_into(">I", data, 512 + 28, 1024000)
    fix_header(data)
    path = write(tmp_path, data)
    assert open_path(path).disk.size == 2000 * 1024**3  # the 4 MB BAT fits in the file
    small = Limits(max_table_bytes=MiB)
    with pytest.raises(LimitExceeded, match="BAT of 4096000 bytes exceeds the 1048576-byte limit"):
        open_vhd(FileSource(write(tmp_path, data)), limits=small, open_reference=no_references)


def test_bat_beyond_eof(small_dynamic: bytes, tmp_path: Path) -> None:
    data = bytearray(small_dynamic)
    struct.pack_into(">Q", data, 512 + 16, len(data) - 16)
    fix_header(data)
    with pytest.raises(CorruptImage, match=r"BAT at \d+ \(12 entries\) is outside the file"):
        open_path(write(tmp_path, data))


def test_block_beyond_eof(small_dynamic: bytes, tmp_path: Path) -> None:
    data = bytearray(small_dynamic)
    table_offset = struct.unpack_from(">Q", data, 512 + 16)[0]
    struct.pack_into(">I", data, table_offset, 0x7FFFFFFF)
    disk = open_path(write(tmp_path, data)).disk
    with pytest.raises(CorruptImage, match="VHD block 0 at file offset 1099511627264 is outside"):
        disk.read_at(0, 512)


def test_checksums(small_dynamic: bytes, tmp_path: Path) -> None:
    data = bytearray(small_dynamic)
    data[-512 + 70] ^= 0xFF  # trailing footer damaged: the copy at offset 0 stands in
    assert open_path(write(tmp_path, data)).variant == "dynamic"
    data[70] ^= 0xFF
    with pytest.raises(CorruptImage, match="VHD footer checksum mismatch"):
        open_path(write(tmp_path, data))
    data = bytearray(small_dynamic)
    data[512 + 200] ^= 1
    with pytest.raises(CorruptImage, match="dynamic header checksum mismatch"):
        open_path(write(tmp_path, data))


@pytest.mark.parametrize(
    ("patch", "error", "message"),
    [
        ({"disk_type": 5}, UnsupportedFormat, "VHD disk type 5 is not supported"),
        ({"disk_type": 0}, UnsupportedFormat, "VHD disk type 0 is not supported"),
        ({"current_size": 1000}, CorruptImage, "not a multiple of 512"),
        ({"data_offset": 1 << 40}, CorruptImage, "dynamic header offset .* outside the file"),
    ],
)
def test_bad_footer_fields(
    small_dynamic: bytes, tmp_path: Path, patch: dict[str, int], error: type, message: str
) -> None:
    data = bytearray(small_dynamic)
    set_both_footers(data, **patch)
    with pytest.raises(error, match=message):
        open_path(write(tmp_path, data))


def test_bad_block_size(small_dynamic: bytes, tmp_path: Path) -> None:
    data = bytearray(small_dynamic)
    struct.pack_into(">I", data, 512 + 32, 3 * MiB)
    fix_header(data)
    with pytest.raises(CorruptImage, match="VHD block size 3145728 is not a power of two"):
        open_path(write(tmp_path, data))


def test_fixed_larger_than_file(images: dict[str, Path], tmp_path: Path) -> None:
    data = bytearray(images["fixed"].read_bytes()[-2 * MiB :])
    set_footer(data, len(data) - 512)
    with pytest.raises(CorruptImage, match=r"fixed VHD disk size .* exceeds the file"):
        open_path(write(tmp_path, data))


def test_empty_and_random(tmp_path: Path) -> None:
    with pytest.raises(CorruptImage, match="smaller than its 512-byte footer"):
        open_path(write(tmp_path, b""))
    rng = random.Random(5)
    junk = bytearray(rng.randbytes(MiB))
    junk[-512:-504] = VHD_COOKIE
    with pytest.raises(CorruptImage, match="VHD footer checksum mismatch"):
        open_path(write(tmp_path, junk))
    with pytest.raises(CorruptImage, match="cookie 'conectix' not found"):
        open_path(write(tmp_path, rng.randbytes(4096)))


@pytest.mark.parametrize("keep", [100, 513, 1100, 1600, 3000, 40000, 3 * MiB])
def test_truncated(small_dynamic: bytes, tmp_path: Path, keep: int) -> None:
    path = write(tmp_path, small_dynamic[:keep])
    with pytest.raises(CorruptImage):
        disk = open_path(path).disk
        disk_digest(disk)


def test_fuzzed_headers_only_raise_disk_errors(small_dynamic: bytes, tmp_path: Path) -> None:
    rng = random.Random(11)
    table_offset = struct.unpack_from(">Q", small_dynamic, 512 + 16)[0]
    for _ in range(150):
        data = bytearray(small_dynamic)
        for _ in range(rng.randrange(1, 6)):
            at = rng.choice(
                [rng.randrange(0, 1536), rng.randrange(table_offset, table_offset + 48)]
            )
            data[at] = rng.randrange(256)
        fix_header(data)
        set_both_footers(data)
        try:
            disk = open_path(write(tmp_path, data)).disk
            for offset in range(0, min(disk.size, 64 * MiB), 2 * MiB):
                disk.read_at(offset, 4096)
        except DiskError:
            pass


# --- where qemu and the specification read a VHD differently (found in review) ---------


def _qemu_raw(path: Path, tmp_path: Path) -> bytes:
    out = tmp_path / (path.name + ".qemu.raw")
    qemu_img("convert", "-f", "vpc", "-O", "raw", str(path), str(out))
    return out.read_bytes()


def test_dynamic_block_bitmap_is_not_what_qemu_reads(
    images: dict[str, Path], tmp_path: Path
) -> None:
    """qemu returns an allocated block's stored bytes whatever its sector bitmap says;
    honouring the bitmap would hide those bytes from the scan."""
    data = bytearray(images["dynamic"].read_bytes())
    table_offset = struct.unpack_from(">Q", data, 512 + 16)[0]
    entries = struct.unpack_from(">I", data, 512 + 28)[0]
    bat = struct.unpack_from(f">{entries}I", data, table_offset)
    first = next(e for e in bat if e != 0xFFFFFFFF)
    data[first * 512 + 1 : first * 512 + 512] = bytes(511)  # only sectors 0-7 "present"
    path = write(tmp_path, data)
    disk = open_path(path).disk
    assert disk.read_at(0, disk.size) == _qemu_raw(path, tmp_path)


@pytest.mark.parametrize("case", ["small-block", "head-copy-differs", "chs-vs-size"])
def test_ambiguous_vhds_are_refused(images: dict[str, Path], tmp_path: Path, case: str) -> None:
    if case == "small-block":  # qemu sizes the bitmap of a 2 KiB block as 0 bytes
        data = bytearray(images["dynamic"].read_bytes())
        struct.pack_into(">I", data, 512 + 32, 2048)
        fix_header(data)
        with pytest.raises(CorruptImage, match="4 KiB"):
            open_path(write(tmp_path, data))
        return
    if case == "head-copy-differs":  # qemu reads the copy at offset 0, others the end
        data = bytearray(images["dynamic"].read_bytes())
        set_footer(data, 0, current_size=struct.unpack_from(">Q", data, 48)[0] - 2 * MiB)
    else:  # creator "qemu": qemu sizes the disk by CHS, other readers by current_size
        data = bytearray(images["fixed"].read_bytes())
        set_footer(data, len(data) - 512, current_size=MiB)
    path = write(tmp_path, data)
    qemu_img("info", "-f", "vpc", str(path))  # qemu opens it
    with pytest.raises(ImageRefused, match="ambiguous"):
        open_path(path)


def test_fixed_footer_under_more_data_is_refused(images: dict[str, Path], tmp_path: Path) -> None:
    """A raw disk ending in a fixed-VHD footer that declares less than the file holds: a
    reader probing the first sector (qemu) takes it for raw, payload included."""
    data = bytearray(images["fixed.raw"].read_bytes() + images["fixed"].read_bytes()[-512:])
    data[len(data) - 512 + 28 : len(data) - 512 + 32] = b"win "  # size from current_size
    set_footer(data, len(data) - 512, current_size=MiB)
    with pytest.raises(ImageRefused, match="holds"):
        open_path(write(tmp_path, data))


def test_hyper_v_relative_parent_locator(diff_images: dict[str, Path], tmp_path: Path) -> None:
    """Hyper-V writes the relative locator Windows-style (".\\parent.vhd"): it names the
    parent beside the child, opened through the host-path policy like any backing file."""
    from vmguard.disk.image import open_image

    child = diff_images["child"].read_bytes()
    data = make_differencing(child, {"W2ru": ".\\parent.vhd", "W2ku": "C:\\vm\\p.vhd"}, "p.vhd")
    path = write(tmp_path, data, "child.vhd")
    shutil.copyfile(diff_images["parent"], tmp_path / "parent.vhd")
    opened = open_image(path)
    assert [link.path for link in opened.backing_chain] == [str(tmp_path / "parent.vhd")]
    outside = make_differencing(child, {"W2ru": "..\\elsewhere\\parent.vhd"}, "p.vhd")
    with pytest.raises(ImageRefused, match="outside the image directory"):
        open_image(write(tmp_path, outside, "escape.vhd"))
