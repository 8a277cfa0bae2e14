"""VHDX reader: qemu-made images read byte for byte like ``qemu-img convert -O raw``; hostile
images (malicious-images.md A.10, B.18, B.19 analogues) fail with specific errors."""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import struct
import subprocess
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from vmguard.disk.containers.crc32c import crc32c
from vmguard.disk.containers.interface import Reference, ReferenceKind, no_references
from vmguard.disk.containers.vhdx import VHDX_MAGIC, open_vhdx
from vmguard.disk.containers.vhdx_metadata import (
    FILE_PARAMETERS,
    LOGICAL_SECTOR_SIZE,
    PARENT_LOCATOR,
    VHDX_PARENT_LOCATOR_TYPE,
    VIRTUAL_DISK_SIZE,
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
KiB = 1024
RAW_SIZE = 72 * MiB + 3584
LIMITS = Limits()
HEADERS = (64 * KiB, 128 * KiB)
REGIONS = (192 * KiB, 256 * KiB)
BAT_GUID = uuid.UUID("2dc27766-f623-4200-9d64-115e9bfd4a08")
META_GUID = uuid.UUID("8b7ca206-4790-4b9a-b8fe-575f050f886e")


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
    return open_vhdx(FileSource(path), limits=LIMITS, open_reference=opener)


VARIANTS = {
    "dynamic": "subformat=dynamic",
    "fixed": "subformat=fixed",
    "block1m": "block_size=1M",
    "block32m": "block_size=32M",
    "log1m": "log_size=1M",
}


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("vhdx")
    raw = d / "disk.raw"
    make_raw(raw, RAW_SIZE, seed=1)
    out = {"raw": raw}
    for name, opts in VARIANTS.items():
        out[name] = d / f"{name}.vhdx"
        qemu_img("convert", "-f", "raw", "-O", "vhdx", "-o", opts, str(raw), str(out[name]))
        out[f"{name}.raw"] = d / f"{name}.out"
        qemu_img("convert", "-f", "vhdx", "-O", "raw", str(out[name]), str(out[f"{name}.raw"]))
    return out


@pytest.mark.parametrize("name", list(VARIANTS))
def test_reads_like_qemu(images: dict[str, Path], name: str) -> None:
    container = open_path(images[name])
    assert container.format == "vhdx"
    assert container.variant == ("fixed" if name == "fixed" else "dynamic")
    info = json.loads(qemu_img("info", "-f", "vhdx", "--output=json", str(images[name])))
    assert container.disk.size == info["virtual-size"] == RAW_SIZE
    assert disk_digest(container.disk) == file_digest(images[f"{name}.raw"])
    assert disk_digest(container.disk) == file_digest(images["raw"])


def test_unaligned_reads_and_ranges(images: dict[str, Path]) -> None:
    disk = open_path(images["block1m"]).disk
    expected = images["raw"].read_bytes()
    rng = random.Random(7)
    for _ in range(200):
        offset, length = rng.randrange(0, disk.size), rng.randrange(0, 5 * MiB)
        assert disk.read_at(offset, length) == expected[offset : offset + length]
    pos = 0
    ranges = list(disk.data_ranges())
    for r in ranges:
        assert r.offset >= pos and r.length > 0
        assert expected[pos : r.offset].count(0) == r.offset - pos
        pos = r.offset + r.length
    assert expected[pos:].count(0) == len(expected) - pos
    assert sum(r.length for r in ranges) < disk.size


def test_pyvhdi_agrees(images: dict[str, Path]) -> None:
    pyvhdi = pytest.importorskip("pyvhdi")
    disk = open_path(images["dynamic"]).disk
    f = pyvhdi.file()
    f.open(str(images["dynamic"]))
    try:
        assert f.get_media_size() == disk.size
        for offset in (0, 3 * MiB + 123, disk.size - 5000):
            f.seek_offset(offset, 0)
            assert f.read_buffer(4096) == disk.read_at(offset, 4096)
    finally:
        f.close()


def test_magic(images: dict[str, Path]) -> None:
    assert images["dynamic"].read_bytes()[:8] == VHDX_MAGIC


# --- helpers to rewrite real images ------------------------------------------------------


def fix_crc(data: bytearray, offset: int, size: int) -> None:
    struct.pack_into("<I", data, offset + 4, 0)
    struct.pack_into("<I", data, offset + 4, crc32c(bytes(data[offset : offset + size])))


def fix_all_crcs(data: bytearray) -> None:
    for off in HEADERS:
        fix_crc(data, off, 4 * KiB)
    for off in REGIONS:
        fix_crc(data, off, 64 * KiB)


def regions(data: bytes) -> dict[uuid.UUID, int]:
    count = struct.unpack_from("<I", data, REGIONS[0] + 8)[0]
    out = {}
    for i in range(count):
        guid, offset = struct.unpack_from("<16sQ", data, REGIONS[0] + 16 + 32 * i)
        out[uuid.UUID(bytes_le=guid)] = offset
    return out


def item_offset(data: bytes, guid: uuid.UUID) -> int:
    meta = regions(data)[META_GUID]
    count = struct.unpack_from("<H", data, meta + 10)[0]
    for i in range(count):
        raw, offset = struct.unpack_from("<16sI", data, meta + 32 + 32 * i)
        if uuid.UUID(bytes_le=raw) == guid:
            return meta + offset
    raise KeyError(guid)


def add_parent(data: bytearray, pairs: dict[str, str]) -> None:
    """malicious-images A.10: set HasParent and (optionally) add a parent locator item."""
    params = item_offset(data, FILE_PARAMETERS)
    struct.pack_into("<I", data, params + 4, struct.unpack_from("<I", data, params + 4)[0] | 2)
    if not pairs:
        return
    meta = regions(data)[META_GUID]
    count = struct.unpack_from("<H", data, meta + 10)[0]
    item = bytearray(struct.pack("<16sHH", VHDX_PARENT_LOCATOR_TYPE.bytes_le, 0, len(pairs)))
    strings = bytearray()
    base = 20 + 12 * len(pairs)
    for key, value in pairs.items():
        k, v = key.encode("utf-16-le"), value.encode("utf-16-le")
        item += struct.pack(
            "<IIHH", base + len(strings), base + len(strings) + len(k), len(k), len(v)
        )
        strings += k + v
    item += strings
    at = 512 * KiB
    data[meta + at : meta + at + len(item)] = item
    struct.pack_into(
        "<16sIII4x", data, meta + 32 + 32 * count, PARENT_LOCATOR.bytes_le, at, len(item), 4
    )
    struct.pack_into("<H", data, meta + 10, count + 1)


def write(tmp_path: Path, data: bytes | bytearray, name: str = "x.vhdx") -> Path:
    path = tmp_path / name
    path.write_bytes(bytes(data))
    return path


class RecordingOpener:
    def __init__(self, parent: Path | None) -> None:
        self.parent = parent
        self.calls: list[Reference] = []

    def __call__(self, reference: Reference) -> ByteSource:
        self.calls.append(reference)
        if self.parent is None:
            raise ImageRefused(f"backing file {reference.name!r} refused by test policy")
        return open_path(self.parent).disk


@pytest.fixture(scope="module")
def diff_images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("vhdxdiff")
    size = 24 * MiB
    make_raw(d / "parent.raw", size, seed=2, chunks=30)
    make_raw(d / "child.raw", size, seed=3, chunks=4)
    for name in ("parent", "child"):
        qemu_img(
            "convert", "-f", "raw", "-O", "vhdx", "-o", "block_size=1M",
            str(d / f"{name}.raw"), str(d / f"{name}.vhdx"),
        )  # fmt: skip
    return {n: d / n for n in ("parent.raw", "child.raw", "parent.vhdx", "child.vhdx")}


def test_has_parent_without_locator_refused(diff_images: dict[str, Path], tmp_path: Path) -> None:
    data = bytearray(diff_images["child.vhdx"].read_bytes())
    add_parent(data, {})
    opener = RecordingOpener(None)
    with pytest.raises(ImageRefused, match="no usable parent locator"):
        open_path(write(tmp_path, data), opener)
    assert opener.calls == []


def test_has_parent_refusing_opener(diff_images: dict[str, Path], tmp_path: Path) -> None:
    data = bytearray(diff_images["child.vhdx"].read_bytes())
    add_parent(data, {"parent_linkage": "{x}", "absolute_win32_path": "C:\\etc\\shadow"})
    opener = RecordingOpener(None)
    with pytest.raises(ImageRefused, match="refused by test policy"):
        open_path(write(tmp_path, data), opener)
    assert opener.calls == [Reference(ReferenceKind.BACKING_FILE, "C:\\etc\\shadow", format="vhdx")]
    with pytest.raises(ImageRefused, match="may not name other files"):
        open_path(write(tmp_path, data))


def test_differencing_reads_through_parent(diff_images: dict[str, Path], tmp_path: Path) -> None:
    data = bytearray(diff_images["child.vhdx"].read_bytes())
    add_parent(data, {"parent_linkage": "{x}", "relative_path": "parent.vhdx", "volume_path": "v"})
    bat = regions(data)[BAT_GUID]
    ratio = (1 << 23) * 512 // MiB
    # qemu writes holes as ZERO blocks; make every other one NOT_PRESENT (read the parent).
    for i, e in enumerate(struct.unpack_from("<24Q", data, bat)):
        if e & 7 == 2 and i % 2 == 0:
            struct.pack_into("<Q", data, bat + 8 * i, 0)
    entries = struct.unpack_from("<24Q", data, bat)
    assert {e & 7 for e in entries} == {0, 2, 6}
    # Make one absent block partially present: a data block and a sector bitmap appended.
    index = next(i for i, e in enumerate(entries) if e & 7 == 0)
    rng = random.Random(9)
    block_at, bitmap_at = len(data), len(data) + MiB
    block = rng.randbytes(MiB)
    bitmap = bytearray(MiB)
    slot = index * 256  # 2048 sectors per block, one bit each
    bitmap[slot : slot + 64] = b"\xff" * 64  # sectors 0-511 present
    bitmap[slot + 64 : slot + 128] = b"\x0f" * 64  # then 4 present, 4 absent (LSB first)
    data += block + bitmap
    struct.pack_into("<Q", data, bat + 8 * index, block_at | 7)
    struct.pack_into("<Q", data, bat + 8 * ratio, bitmap_at | 6)
    opener = RecordingOpener(diff_images["parent.vhdx"])
    container = open_path(write(tmp_path, data), opener)
    assert container.variant == "differencing"
    assert opener.calls == [Reference(ReferenceKind.BACKING_FILE, "parent.vhdx", format="vhdx")]

    expected = bytearray(diff_images["parent.raw"].read_bytes())
    mine = diff_images["child.raw"].read_bytes()
    for i, e in enumerate(entries):
        if e & 7 == 6:
            expected[i * MiB : (i + 1) * MiB] = mine[i * MiB : (i + 1) * MiB]
        elif e & 7 == 2:
            expected[i * MiB : (i + 1) * MiB] = bytes(MiB)
    for s in range(2048):
        if s < 512 or (512 <= s < 1024 and s % 8 < 4):
            at = index * MiB + s * 512
            expected[at : at + 512] = block[s * 512 : s * 512 + 512]
    assert container.disk.read_at(0, container.disk.size) == bytes(expected)
    assert container.disk.read_at(index * MiB + 511 * 512, 1024) == bytes(
        expected[index * MiB + 511 * 512 : index * MiB + 512 * 513]
    )
    ranges = list(container.disk.data_ranges())
    assert all(a.offset + a.length < b.offset for a, b in itertools.pairwise(ranges))


# --- hostile structures -------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(diff_images: dict[str, Path]) -> bytes:
    return diff_images["child.vhdx"].read_bytes()


def test_region_count_over_limit(small: bytes, tmp_path: Path) -> None:
    """malicious-images B.18: region count 4096 with a valid CRC-32C."""
    data = bytearray(small)
    struct.pack_into("<I", data, REGIONS[0] + 8, 4096)
    fix_crc(data, REGIONS[0], 64 * KiB)
    with pytest.raises(LimitExceeded, match="region table entry count 4096 exceeds 2047"):
        open_path(write(tmp_path, data))


def test_metadata_count_over_limit(small: bytes, tmp_path: Path) -> None:
    data = bytearray(small)
    struct.pack_into("<H", data, regions(data)[META_GUID] + 10, 4096)
    with pytest.raises(LimitExceeded, match="metadata entry count 4096 exceeds 2047"):
        open_path(write(tmp_path, data))


def test_metadata_item_outside_region(small: bytes, tmp_path: Path) -> None:
    data = bytearray(small)
    meta = regions(data)[META_GUID]
    struct.pack_into("<I", data, meta + 32 + 16, 0xFFFFFF00)
    with pytest.raises(CorruptImage, match=r"metadata item .* is outside its region"):
        open_path(write(tmp_path, data))


def test_one_bad_header_uses_the_other(small: bytes, tmp_path: Path) -> None:
    for bad in HEADERS:
        data = bytearray(small)
        data[bad + 100] ^= 0xFF
        assert open_path(write(tmp_path, data)).disk.read_at(0, MiB) == small_first_mib(small)
    data = bytearray(small)
    data[HEADERS[0] + 100] ^= 0xFF
    data[HEADERS[1]] = 0
    with pytest.raises(CorruptImage, match="no valid header"):
        open_path(write(tmp_path, data))


def small_first_mib(small: bytes) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        return open_path(write(Path(d), small)).disk.read_at(0, MiB)


def test_bad_region_table_uses_backup(small: bytes, tmp_path: Path) -> None:
    data = bytearray(small)
    data[REGIONS[0] + 20] ^= 0xFF
    open_path(write(tmp_path, data))
    data[REGIONS[1] + 20] ^= 0xFF
    with pytest.raises(CorruptImage, match="no valid region table"):
        open_path(write(tmp_path, data))


def test_log_needs_replay(small: bytes, tmp_path: Path) -> None:
    data = bytearray(small)
    for off in HEADERS:
        data[off + 48 : off + 64] = uuid.uuid4().bytes_le
    fix_all_crcs(data)
    with pytest.raises(UnsupportedFormat, match="VHDX log needs replay"):
        open_path(write(tmp_path, data))


def test_unknown_required_region(small: bytes, tmp_path: Path) -> None:
    data = bytearray(small)
    count = struct.unpack_from("<I", data, REGIONS[0] + 8)[0]
    struct.pack_into("<16sQII", data, REGIONS[0] + 16 + 32 * count, uuid.uuid4().bytes_le, 0, 0, 1)
    struct.pack_into("<I", data, REGIONS[0] + 8, count + 1)
    fix_crc(data, REGIONS[0], 64 * KiB)
    with pytest.raises(UnsupportedFormat, match="requires unknown region"):
        open_path(write(tmp_path, data))


def test_huge_sizes(small: bytes, tmp_path: Path) -> None:
    """B.19 analogue: 2^60 virtual size, then a BAT larger than the table limit."""
    data = bytearray(small)
    size_at = item_offset(data, VIRTUAL_DISK_SIZE)
    struct.pack_into("<Q", data, size_at, 1 << 60)
    path = write(tmp_path, data)
    tracemalloc.start()
    try:
        with pytest.raises(LimitExceeded, match="virtual size 1152921504606846976 exceeds 64 TiB"):
            open_path(path)
        assert tracemalloc.get_traced_memory()[1] < 4 * MiB
    finally:
        tracemalloc.stop()
    struct.pack_into("<Q", data, size_at, 60 * 1024**4)
    with pytest.raises(LimitExceeded, match=r"BAT of \d+ bytes exceeds the 33554432-byte limit"):
        open_path(write(tmp_path, data))
    struct.pack_into("<Q", data, size_at, 1024**4)
    with pytest.raises(
        CorruptImage, match=r"BAT of \d+ bytes does not fit its 1048576-byte region"
    ):
        open_path(write(tmp_path, data))


def test_bat_entries_all_ones_and_beyond_eof(small: bytes, tmp_path: Path) -> None:
    data = bytearray(small)
    bat = regions(data)[BAT_GUID]
    struct.pack_into("<Q", data, bat, 0xFFFFFFFFFFFFFFFF)
    struct.pack_into("<Q", data, bat + 8, (1 << 40) | 6)
    struct.pack_into("<Q", data, bat + 16, 4)
    disk = open_path(write(tmp_path, data)).disk
    with pytest.raises(CorruptImage, match=r"VHDX block 0 at file offset .* is outside the file"):
        disk.read_at(0, 1)
    with pytest.raises(CorruptImage, match="VHDX block 1 at file offset 1099511627776 is outside"):
        disk.read_at(MiB, 1)
    with pytest.raises(CorruptImage, match="VHDX block 2 has invalid BAT state 4"):
        disk.read_at(2 * MiB, 1)
    struct.pack_into("<Q", data, bat, 2 * MiB | 7)
    with pytest.raises(CorruptImage, match="partially present without a parent"):
        open_path(write(tmp_path, data)).disk.read_at(0, 1)


@pytest.mark.parametrize(
    ("guid", "fmt", "value", "message"),
    [
        (FILE_PARAMETERS, "<I", 3 * MiB, "block size 3145728 is not a power of two"),
        (FILE_PARAMETERS, "<I", 512 * MiB, "block size 536870912 is not a power of two"),
        (LOGICAL_SECTOR_SIZE, "<I", 1024, "sector sizes 1024/512 are not 512 or 4096"),
        (VIRTUAL_DISK_SIZE, "<Q", 1000, "virtual size 1000 is not a multiple of 512"),
    ],
)
def test_bad_metadata_values(
    small: bytes, tmp_path: Path, guid: uuid.UUID, fmt: str, value: int, message: str
) -> None:
    data = bytearray(small)
    struct.pack_into(fmt, data, item_offset(data, guid), value)
    with pytest.raises(CorruptImage, match=message):
        open_path(write(tmp_path, data))


def test_empty_and_random(tmp_path: Path) -> None:
    with pytest.raises(CorruptImage, match="file identifier at offset 0 is truncated"):
        open_path(write(tmp_path, b""))
    rng = random.Random(5)
    junk = bytearray(rng.randbytes(2 * MiB))
    junk[:8] = VHDX_MAGIC
    with pytest.raises(CorruptImage, match="no valid header"):
        open_path(write(tmp_path, junk))


@pytest.mark.parametrize("keep", [8, 100 * KiB, 200 * KiB, 300 * KiB, MiB, 3 * MiB + 100, 9 * MiB])
def test_truncated(small: bytes, tmp_path: Path, keep: int) -> None:
    with pytest.raises(CorruptImage):
        disk_digest(open_path(write(tmp_path, small[:keep])).disk)


def test_fuzzed_metadata_only_raises_disk_errors(small: bytes, tmp_path: Path) -> None:
    rng = random.Random(11)
    meta, bat = regions(small)[META_GUID], regions(small)[BAT_GUID]
    spots = [(REGIONS[0], 16 + 32 * 2), (meta, 32 + 32 * 6), (meta + 64 * KiB, 64), (bat, 200)]
    for _ in range(60):
        data = bytearray(small)
        for _ in range(rng.randrange(1, 6)):
            base, span = rng.choice(spots)
            data[base + rng.randrange(span)] = rng.randrange(256)
        fix_all_crcs(data)
        try:
            disk = open_path(write(tmp_path, data)).disk
            for offset in range(0, min(disk.size, 64 * MiB), MiB):
                disk.read_at(offset, 4096)
            list(disk.data_ranges())
        except DiskError:
            pass
