"""VMDK reader: real images made by qemu-img, read back byte for byte, and hostile variants.

Every image is built by ``qemu-img`` (hostile ones by patching bytes of a real image) and
every read is compared with ``qemu-img convert -O raw`` of the same image.
"""

from __future__ import annotations

import random
import re
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from vmguard.disk.containers.interface import Container, Reference, ReferenceKind
from vmguard.disk.containers.vmdk import VMDK_SPARSE_MAGIC, looks_like_vmdk, open_vmdk
from vmguard.disk.errors import CorruptImage, ImageRefused, LimitExceeded, UnsupportedFormat
from vmguard.disk.limits import Limits
from vmguard.disk.source import ByteSource, FileSource, SparseSource

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img")

LIMITS = Limits()
MiB = 1 << 20
# Not a multiple of the 64 KiB grain: the last grain is partial.
DISK_SIZE = 96 * MiB + 9 * 512
BIG_SIZE = 2 * 1024 * MiB + 64 * MiB  # two extents in the twoGbMaxExtent* variants
CHUNK = 8 * MiB
CANARY = b"CANARY-7f3a-host-secret"


def run(*args: str | Path, cwd: Path | None = None) -> None:
    subprocess.run([str(a) for a in args], check=True, capture_output=True, cwd=cwd)


@dataclass
class Opener:
    """A ReferenceOpener over one directory that records every call.

    Like HostPathPolicy it refuses names that are not plain file names in ``root``.
    """

    root: Path
    calls: list[Reference] = field(default_factory=list)
    refuse_all: bool = False

    def __call__(self, reference: Reference) -> ByteSource:
        self.calls.append(reference)
        name = reference.name
        if self.refuse_all or "/" in name or name in ("", ".", ".."):
            raise ImageRefused(f"{reference.kind.value} {name!r} refused by the test policy")
        path = self.root / name
        if reference.kind is ReferenceKind.BACKING_FILE:
            return open_vmdk(FileSource(path), limits=LIMITS, open_reference=self).disk
        return FileSource(path)


def open_path(path: Path, opener: Opener | None = None) -> Container:
    return open_vmdk(FileSource(path), limits=LIMITS, open_reference=opener or Opener(path.parent))


def to_raw(image: Path) -> Path:
    out = image.with_name(image.name + ".raw")
    if not out.exists():
        run("qemu-img", "convert", "-f", "vmdk", "-O", "raw", image, out)
    return out


def assert_same_as_qemu(image: Path) -> Container:
    """Whole-disk comparison with qemu's own reading, plus a data_ranges() check."""
    container = open_path(image)
    disk = container.disk
    with FileSource(to_raw(image)) as expected:
        assert disk.size == expected.size
        for offset in range(0, disk.size, CHUNK):
            if disk.read_at(offset, CHUNK) != expected.read_at(offset, CHUNK):
                raise AssertionError(f"{image.name}: differs from qemu in chunk at {offset}")
        # Odd, unaligned reads across grain and extent boundaries.
        rng = random.Random(image.name)
        for _ in range(200):
            offset = rng.randrange(disk.size)
            length = rng.randrange(1, 300_000)
            assert disk.read_at(offset, length) == expected.read_at(offset, length)
        assert disk.read_at(disk.size, 10) == b""
        assert_ranges_cover_data(disk, expected)
    return container


def assert_ranges_cover_data(disk: ByteSource, expected: FileSource) -> None:
    """Outside ``disk.data_ranges()`` qemu's raw copy holds zeros.

    Only the copy's own data (SEEK_DATA) is read: its holes are zeros by definition.
    """
    assert isinstance(disk, SparseSource)
    written = [(r.offset, r.offset + r.length) for r in expected.data_ranges()]
    previous_end = 0
    for r in [*disk.data_ranges(), None]:
        gap_end = disk.size if r is None else r.offset
        assert gap_end >= previous_end, "ranges overlap or go backwards"
        for lo, hi in written:
            lo, hi = max(lo, previous_end), min(hi, gap_end)
            for offset in range(lo, hi, CHUNK):
                length = min(CHUNK, hi - offset)
                assert expected.read_at(offset, length) == bytes(length), (
                    f"data outside data_ranges() at {offset}"
                )
        if r is not None:
            assert r.length > 0 and r.offset + r.length <= disk.size
            previous_end = r.offset + r.length


def build_disk(raw: Path, work: Path) -> None:
    """96 MiB of real bytes: an ext4 filesystem of real files, random bytes, text, holes."""
    tree = work / "tree"
    tree.mkdir()
    total = 0
    for source in sorted(Path("/usr/lib/python3.11").rglob("*.py")):
        if total > 20 * MiB:
            break
        target = tree / str(source.relative_to("/usr/lib")).replace("/", "_")
        shutil.copyfile(source, target)
        total += target.stat().st_size
    shutil.copytree("/usr/share/zoneinfo", tree / "zoneinfo", symlinks=True)
    fs = work / "fs.img"
    run("mkfs.ext4", "-q", "-F", "-d", tree, fs, "64M")
    rng = random.Random(1234)
    with raw.open("wb") as out:
        out.truncate(DISK_SIZE)
        out.write(fs.read_bytes())
        out.seek(72 * MiB + 12345)
        out.write(rng.randbytes(MiB + 777))
        out.seek(DISK_SIZE - 700)
        out.write(b"the last sector of the disk " * 20)
    fs.unlink()
    shutil.rmtree(tree)


def build_big_disk(raw: Path) -> None:
    with raw.open("wb") as out:
        out.truncate(BIG_SIZE)
        out.write(b"start of the disk" * 100)
        out.seek(2 * 1024 * MiB - 5000)  # straddles the first extent boundary
        out.write(random.Random(7).randbytes(20000))
        out.seek(BIG_SIZE - 4096)
        out.write(b"end" * 1000)


def add_footer(image: Path, target: Path) -> None:
    """A streamOptimized image as VMware writes it: gdOffset in a footer at the end."""
    data = bytearray(image.read_bytes())
    footer_header = bytes(data[:512])
    data[56:64] = b"\xff" * 8
    marker = struct.pack("<QII", 1, 0, 3).ljust(512, b"\0")
    eos = bytes(512)
    target.write_bytes(bytes(data) + marker + footer_header + eos)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("vmdk")
    raw = work / "disk.raw"
    build_disk(raw, work)
    variants = {
        "sparse": "subformat=monolithicSparse",
        "stream": "subformat=streamOptimized",
        "flat": "subformat=monolithicFlat",
        "lsilogic": "subformat=monolithicSparse,adapter_type=lsilogic",
        "hw6": "subformat=monolithicSparse,hwversion=6",
        "zeroed": "subformat=monolithicSparse,zeroed_grain=on",
    }
    for name, options in variants.items():
        run(
            "qemu-img",
            "convert",
            "-f",
            "raw",
            "-O",
            "vmdk",
            "-o",
            options,
            raw,
            work / f"{name}.vmdk",
        )
    # A zeroed grain (GTE 1) over the random bytes.
    run("qemu-io", "-f", "vmdk", "-c", "write -z 72M 64k", work / "zeroed.vmdk")
    add_footer(work / "stream.vmdk", work / "footer.vmdk")

    big = work / "big.raw"
    build_big_disk(big)
    for sub in ("twoGbMaxExtentSparse", "twoGbMaxExtentFlat"):
        run(
            "qemu-img",
            "convert",
            "-f",
            "raw",
            "-O",
            "vmdk",
            "-o",
            f"subformat={sub}",
            big,
            work / f"{sub}.vmdk",
        )
    big.unlink()

    shutil.copyfile(work / "sparse.vmdk", work / "base.vmdk")
    run(
        "qemu-img",
        "create",
        "-f",
        "vmdk",
        "-o",
        "zeroed_grain=on",
        "-b",
        "base.vmdk",
        "-F",
        "vmdk",
        "delta.vmdk",
        cwd=work,
    )
    run(
        "qemu-io", "-f", "vmdk",
        "-c", "write -P 0x5a 1M 64k",
        "-c", "write -P 0xa5 3000 5000",  # partial grain: the rest is copied from the base
        "-c", "write -z 72M 64k",  # a zeroed grain hides the base's random bytes
        "delta.vmdk", cwd=work,
    )  # fmt: skip
    raw.unlink()
    return work


def patched(images: Path, source: str, name: str, patches: dict[int, bytes]) -> Path:
    """A copy of a real image with bytes overwritten (qemu-iotests' poke_file)."""
    data = bytearray((images / source).read_bytes())
    for offset, value in patches.items():
        data[offset : offset + len(value)] = value
    target = images / name
    target.write_bytes(bytes(data))
    return target


# --- real images, byte for byte -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "variant"),
    [
        ("sparse", "monolithicSparse"),
        ("stream", "streamOptimized"),
        ("footer", "streamOptimized"),
        ("flat", "monolithicFlat"),
        ("lsilogic", "monolithicSparse"),
        ("hw6", "monolithicSparse"),
        ("zeroed", "monolithicSparse"),
        ("twoGbMaxExtentSparse", "twoGbMaxExtentSparse"),
        ("twoGbMaxExtentFlat", "twoGbMaxExtentFlat"),
    ],
)
def test_reads_like_qemu(images: Path, name: str, variant: str) -> None:
    container = assert_same_as_qemu(images / f"{name}.vmdk")
    assert (container.format, container.variant) == ("vmdk", variant)


def test_single_file_images_name_nothing(images: Path) -> None:
    opener = Opener(images)
    for name in ("sparse", "stream", "footer"):
        assert open_path(images / f"{name}.vmdk", opener).references == ()
    assert opener.calls == []


def test_descriptor_extents_are_opened_through_the_opener(images: Path) -> None:
    opener = Opener(images)
    container = open_path(images / "twoGbMaxExtentSparse.vmdk", opener)
    names = [(r.kind, r.name, r.extent_type) for r in opener.calls]
    assert names == [
        (ReferenceKind.EXTENT, "twoGbMaxExtentSparse-s001.vmdk", "SPARSE"),
        (ReferenceKind.EXTENT, "twoGbMaxExtentSparse-s002.vmdk", "SPARSE"),
    ]
    assert container.references == tuple(opener.calls)
    flat = open_path(images / "flat.vmdk").references
    assert [(r.name, r.extent_type) for r in flat] == [("flat-flat.vmdk", "FLAT")]


def test_delta_disk_reads_through_its_parent(images: Path) -> None:
    container = assert_same_as_qemu(images / "delta.vmdk")
    assert container.references == (
        Reference(ReferenceKind.BACKING_FILE, "base.vmdk", format="vmdk"),
    )
    disk = container.disk
    assert disk.read_at(MiB, 64 * 1024) == b"\x5a" * 64 * 1024
    assert disk.read_at(72 * MiB, 64 * 1024) == bytes(64 * 1024)
    base = open_path(images / "base.vmdk").disk
    assert base.read_at(72 * MiB + 12345, 100) != bytes(100)


def test_looks_like_vmdk(images: Path) -> None:
    assert looks_like_vmdk((images / "sparse.vmdk").read_bytes()[:512])
    assert looks_like_vmdk((images / "flat.vmdk").read_bytes()[:512])
    assert looks_like_vmdk(b'version=1\ncreateType = "monolithicFlat"\n')
    assert looks_like_vmdk(b"COWD" + bytes(508))
    assert VMDK_SPARSE_MAGIC == b"KDMV"
    assert not looks_like_vmdk(bytes(512))
    assert not looks_like_vmdk(b"QFI\xfb" + bytes(508))
    assert not looks_like_vmdk(bytes(8192) + b"createType=x")


# --- external references (malicious-images.md A.5-A.8) ---------------------------------


def test_flat_descriptor_naming_host_file_goes_to_the_opener(images: Path, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    canary.write_bytes(CANARY * 100)
    text = (images / "flat.vmdk").read_bytes().rstrip(b"\0")
    # Case 6, and 5: the same descriptor under a .raw name is still read as a descriptor.
    hostile = tmp_path / "06b.raw"
    hostile.write_bytes(text.replace(b'"flat-flat.vmdk"', b'"' + bytes(canary) + b'"'))
    assert looks_like_vmdk(hostile.read_bytes())
    opener = Opener(tmp_path)
    with pytest.raises(ImageRefused, match="refused by the test policy"):
        open_path(hostile, opener)
    assert opener.calls == [Reference(ReferenceKind.EXTENT, str(canary), extent_type="FLAT")]


def embedded_descriptor(path: Path) -> tuple[int, bytes]:
    data = path.read_bytes()
    offset, sectors = struct.unpack_from("<QQ", data, 28)
    return offset * 512, data[offset * 512 : (offset + sectors) * 512].rstrip(b"\0")


def with_descriptor(images: Path, name: str, text: bytes, source: str = "sparse.vmdk") -> Path:
    start, _ = embedded_descriptor(images / source)
    return patched(images, source, name, {start: text.ljust(20 * 512, b"\0")})


def test_sparse_vmdk_naming_host_extent_is_read_as_itself(images: Path) -> None:
    _, text = embedded_descriptor(images / "sparse.vmdk")
    hostile = with_descriptor(images, "07.vmdk", text.replace(b'"sparse.vmdk"', b'"/etc/shadow"'))
    opener = Opener(images)
    disk = open_path(hostile, opener).disk
    reference = open_path(images / "sparse.vmdk").disk
    for offset in (0, 70 * MiB, DISK_SIZE - 4096):
        assert disk.read_at(offset, MiB) == reference.read_at(offset, MiB)
    assert opener.calls == []


@pytest.mark.parametrize(
    ("extra", "shown"),
    [
        (b'RW 100 FLAT "/etc/shadow" 0', "/etc/shadow"),
        (b'RW 100 SPARSE "other.vmdk"', "other.vmdk"),
        (b'RW 100 FLAT "\x1b[31mred" 0', "\\x1b[31mred"),
    ],
)
def test_sparse_vmdk_with_more_extents_is_refused(images: Path, extra: bytes, shown: str) -> None:
    _, text = embedded_descriptor(images / "sparse.vmdk")
    lines = text.split(b"\n")
    at = next(i for i, line in enumerate(lines) if line.startswith(b"RW "))
    lines.insert(at + 1, extra)
    hostile = with_descriptor(images, "07b.vmdk", b"\n".join(lines))
    opener = Opener(images)
    with pytest.raises(ImageRefused, match="may only describe itself") as err:
        open_path(hostile, opener)
    assert repr(shown)[1:-1] in str(err.value)
    assert "\x1b" not in str(err.value)
    assert opener.calls == []


def test_delta_parent_hint_goes_to_the_opener(images: Path) -> None:
    _, text = embedded_descriptor(images / "delta.vmdk")
    hostile_text = text.replace(
        b'parentFileNameHint="base.vmdk"', b'parentFileNameHint="/etc/shadow"'
    )
    hostile = with_descriptor(images, "08.vmdk", hostile_text, source="delta.vmdk")
    opener = Opener(images)
    with pytest.raises(ImageRefused, match="refused by the test policy"):
        open_path(hostile, opener)
    assert opener.calls == [Reference(ReferenceKind.BACKING_FILE, "/etc/shadow", format="vmdk")]
    # A perfectly ordinary delta is refused too when the policy follows nothing.
    refusing = Opener(images, refuse_all=True)
    with pytest.raises(ImageRefused):
        open_path(images / "delta.vmdk", refusing)
    assert [r.kind for r in refusing.calls] == [ReferenceKind.BACKING_FILE]


def test_delta_without_parent_hint_is_refused(images: Path) -> None:
    _, text = embedded_descriptor(images / "delta.vmdk")
    lines = [line for line in text.split(b"\n") if not line.startswith(b"parentFileNameHint")]
    hostile = with_descriptor(images, "08b.vmdk", b"\n".join(lines), source="delta.vmdk")
    opener = Opener(images)
    with pytest.raises(ImageRefused, match="names no parentFileNameHint"):
        open_path(hostile, opener)
    assert opener.calls == []


def test_parent_hint_hidden_in_a_comment_is_ambiguous(images: Path) -> None:
    _, text = embedded_descriptor(images / "sparse.vmdk")
    hostile = with_descriptor(images, "08c.vmdk", b'# parentFileNameHint="/etc/shadow"\n' + text)
    with pytest.raises(CorruptImage, match="ambiguous"):
        open_path(hostile)


# --- structure fuzz (qemu-iotests 059, malicious-images.md B.17) -----------------------

Expect = tuple[type[Exception], str]
STRUCTURE_CASES: dict[str, tuple[dict[int, bytes], Expect]] = {
    "grain-size-huge": ({20: b"\xff" * 8}, (CorruptImage, "invalid granularity")),
    "grain-size-odd": ({20: struct.pack("<Q", 96)}, (CorruptImage, "invalid granularity")),
    "gtes-huge": ({44: b"\xff" * 4}, (CorruptImage, "grain table size too big")),
    "capacity-high-word": (
        {16: b"\xff" * 4, 44: struct.pack("<I", 1)},
        (LimitExceeded, "grain directory too big"),
    ),
    "descriptor-size-2MiB": ({0x24: struct.pack("<Q", 0x1000)}, (LimitExceeded, "2097152 bytes")),
    "descriptor-outside": ({0x1C: struct.pack("<Q", 1 << 40)}, (CorruptImage, "outside the file")),
    "version-4": ({4: struct.pack("<I", 4)}, (UnsupportedFormat, "version 4")),
    "gd-outside": ({56: struct.pack("<Q", 1 << 40)}, (CorruptImage, "grain directory .* outside")),
    "grains-beyond-eof": ({64: struct.pack("<Q", 1 << 40)}, (CorruptImage, "truncated")),
    "newline-check": ({73: b"\n\n\n\n"}, (CorruptImage, "newline check")),
    "compression-2": ({77: struct.pack("<H", 2)}, (UnsupportedFormat, "compression 2")),
    "cowd": ({0: b"COWD"}, (UnsupportedFormat, "COWD")),
}


@pytest.mark.parametrize("case", sorted(STRUCTURE_CASES))
def test_hostile_header_fields(images: Path, case: str) -> None:
    patches, (kind, message) = STRUCTURE_CASES[case]
    hostile = patched(images, "sparse.vmdk", f"fuzz-{case}.vmdk", patches)
    with pytest.raises(kind, match=message):
        open_path(hostile)


def test_zeroed_footer_is_invalid(images: Path) -> None:
    hostile = patched(images, "sparse.vmdk", "09.vmdk", {56: b"\xff" * 8})
    with hostile.open("ab") as out:
        out.write(bytes(1536))
    with pytest.raises(CorruptImage, match="invalid VMDK footer"):
        open_path(hostile)


@pytest.mark.parametrize(
    ("offset", "value", "message"),
    [
        (512 + 12, struct.pack("<Q", 12345), "footer does not match the header"),
        (512 + 4, struct.pack("<I", 2), "footer does not match the header"),
        (1024, b"\x01", "end-of-stream"),
        (8, b"\x07", "no footer marker"),
    ],
)
def test_footer_mismatch(images: Path, offset: int, value: bytes, message: str) -> None:
    size = (images / "footer.vmdk").stat().st_size
    hostile = patched(images, "footer.vmdk", "footer-bad.vmdk", {size - 1536 + offset: value})
    with pytest.raises(CorruptImage, match=message):
        open_path(hostile)


def first_grain_table_entry(path: Path) -> tuple[int, int]:
    """(file offset of GTE 0, its value) of a qemu-made image."""
    data = path.read_bytes()
    gd = struct.unpack_from("<Q", data, 56)[0] * 512
    gt = struct.unpack_from("<I", data, gd)[0] * 512
    return gt, struct.unpack_from("<I", data, gt)[0]


def test_grain_outside_the_file_fails_on_read(images: Path) -> None:
    gte, _ = first_grain_table_entry(images / "sparse.vmdk")
    hostile = patched(images, "sparse.vmdk", "gte-out.vmdk", {gte: struct.pack("<I", 0xFFFFFF00)})
    disk = open_path(hostile).disk
    assert disk.read_at(MiB, 4096) == open_path(images / "sparse.vmdk").disk.read_at(MiB, 4096)
    with pytest.raises(CorruptImage, match=r"guest offset 0 .* outside the file"):
        disk.read_at(0, 4096)


def test_grain_table_outside_the_file_fails_on_read(images: Path) -> None:
    data = (images / "sparse.vmdk").read_bytes()
    gd = struct.unpack_from("<Q", data, 56)[0] * 512
    hostile = patched(images, "sparse.vmdk", "gd-out.vmdk", {gd + 4: struct.pack("<I", 1 << 30)})
    disk = open_path(hostile).disk
    assert disk.read_at(0, 4096) == open_path(images / "sparse.vmdk").disk.read_at(0, 4096)
    with pytest.raises(CorruptImage, match="grain table 1 at 549755813888 lies outside"):
        disk.read_at(32 * MiB, 4096)


def test_small_grain_table_cache_reads_the_same(images: Path) -> None:
    path = images / "sparse.vmdk"
    tight = open_vmdk(
        FileSource(path),
        limits=Limits(max_table_cache_entries=1),
        open_reference=Opener(images),
    ).disk
    with FileSource(to_raw(path)) as expected:
        rng = random.Random(5)
        for _ in range(300):
            offset = rng.randrange(tight.size)
            assert tight.read_at(offset, 100_000) == expected.read_at(offset, 100_000)


def test_truncated_images(images: Path) -> None:
    data = (images / "sparse.vmdk").read_bytes()
    short = images / "short.vmdk"
    for length in (0, 3, 100, 511, 4096):
        short.write_bytes(data[:length])
        with pytest.raises((CorruptImage, ImageRefused)):
            open_path(short)
    short.write_bytes(data[: len(data) // 2 // 512 * 512])
    disk = open_path(short).disk
    with pytest.raises(CorruptImage, match="outside the file"):
        for offset in range(0, disk.size, CHUNK):
            disk.read_at(offset, CHUNK)
    stream = (images / "stream.vmdk").read_bytes()
    short.write_bytes(stream[: len(stream) // 2 // 512 * 512])
    disk = open_path(short).disk
    with pytest.raises(CorruptImage, match=r"compressed grain|outside the file"):
        for offset in range(0, disk.size, CHUNK):
            disk.read_at(offset, CHUNK)


def stream_grain(images: Path) -> tuple[int, int]:
    """File offset and marker size of the stream image's first grain."""
    _, value = first_grain_table_entry(images / "stream.vmdk")
    data = (images / "stream.vmdk").read_bytes()
    return value * 512, struct.unpack_from("<I", data, value * 512 + 8)[0]


def test_compressed_grain_bomb_is_bounded(images: Path) -> None:
    offset, _ = stream_grain(images)
    bomb = zlib.compress(bytes(64 * MiB), 9)
    assert len(bomb) < 128 * 1024
    hostile = patched(
        images, "stream.vmdk", "bomb.vmdk", {offset + 8: struct.pack("<I", len(bomb)) + bomb}
    )
    with pytest.raises(CorruptImage, match="inflates beyond 65536 bytes"):
        open_path(hostile).disk.read_at(0, 512)


@pytest.mark.parametrize(
    ("delta", "message"),
    [
        ({0: struct.pack("<Q", 128)}, "is for guest offset 65536, expected 0"),
        ({8: struct.pack("<I", 0)}, "size 0"),
        ({8: struct.pack("<I", 1 << 30)}, "size 1073741824"),
        ({12: b"\x00\x01\x02\x03"}, "compressed grain for guest offset 0"),
    ],
)
def test_broken_compressed_grains(images: Path, delta: dict[int, bytes], message: str) -> None:
    offset, _ = stream_grain(images)
    hostile = patched(
        images, "stream.vmdk", "grain-bad.vmdk", {offset + k: v for k, v in delta.items()}
    )
    with pytest.raises(CorruptImage, match=message):
        open_path(hostile).disk.read_at(0, 512)


# --- text descriptors ------------------------------------------------------------------


def descriptor_file(tmp_path: Path, body: str, create_type: str = "monolithicFlat") -> Path:
    path = tmp_path / "desc.vmdk"
    path.write_text(
        f"# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
        f'createType="{create_type}"\n\n# Extent description\n{body}\n'
        f'ddb.adapterType = "ide"\n'
    )
    return path


def test_flat_and_vmfs_extents(tmp_path: Path) -> None:
    (tmp_path / "x-flat.vmdk").write_bytes(b"A" * 4096 + b"B" * 4096)
    path = descriptor_file(
        tmp_path, 'RW 2 FLAT "x-flat.vmdk" 8\nRW 8 VMFS "x-flat.vmdk"', create_type="vmfs"
    )
    container = open_path(path)
    disk = container.disk
    assert disk.size == 10 * 512
    assert disk.read_at(0, disk.size) == b"B" * 1024 + b"A" * 4096
    assert isinstance(disk, SparseSource)
    assert [r.extent_type for r in container.references] == ["FLAT", "VMFS"]


@pytest.mark.parametrize(
    "lines",
    [
        'RW 2 FLAT "x-flat.vmdk" 8\nRW 4 ZERO',  # qemu: no quoted name, line skipped
        'RDONLY 8 VMFS "x-flat.vmdk"\nRW 2 FLAT "x-flat.vmdk" 8',  # qemu: not RW, skipped
    ],
)
def test_extents_qemu_leaves_out_are_refused(tmp_path: Path, lines: str) -> None:
    (tmp_path / "x-flat.vmdk").write_bytes(b"A" * 4096 + b"B" * 4096)
    with pytest.raises(ImageRefused, match="qemu leaves it out"):
        open_path(descriptor_file(tmp_path, lines, create_type="vmfs"))


@pytest.mark.parametrize(
    ("body", "create_type", "expect"),
    [
        ('RW 2 FLAT "x" 0\nthis is not a descriptor line', "monolithicFlat",
         (CorruptImage, "invalid VMDK descriptor line 9")),
        ('RW 2 FLAT "x"', "monolithicFlat", (CorruptImage, "needs a file name and an offset")),
        ('RW 2 FLAT "x" 0\nCID=1', "monolithicFlat", (CorruptImage, "repeats key 'CID'")),
        ('RW 2 VMFSSPARSE "x"', "vmfsSparse", (UnsupportedFormat, "createType 'vmfsSparse'")),
        ('RW 2 SESPARSE "x"', "vmfs", (UnsupportedFormat, "extent type SESPARSE")),
        ('NOACCESS 2 FLAT "x" 0', "monolithicFlat", (ImageRefused, "NOACCESS")),
        ('RW 2 FLAT "x" 0', "monolithicSparse", (UnsupportedFormat, "monolithicSparse")),
        ("", "monolithicFlat", (CorruptImage, "lists no extent")),
        ('RW 0 FLAT "x" 0', "monolithicFlat", (CorruptImage, "0 sectors")),
        ('RW 2 FLAT "x" 0\nparentCID2=1', "monolithicFlat", (CorruptImage, "ambiguous")),
    ],
)  # fmt: skip
def test_bad_descriptors_fail_before_any_file_is_opened(
    tmp_path: Path, body: str, create_type: str, expect: Expect
) -> None:
    opener = Opener(tmp_path)
    with pytest.raises(expect[0], match=expect[1]):
        open_path(descriptor_file(tmp_path, body, create_type), opener)
    assert opener.calls == []


def test_flat_extent_shorter_than_declared(tmp_path: Path) -> None:
    (tmp_path / "x-flat.vmdk").write_bytes(bytes(1024))
    with pytest.raises(CorruptImage, match="shorter than the 1536 bytes the descriptor needs") as e:
        open_path(descriptor_file(tmp_path, 'RW 2 FLAT "x-flat.vmdk" 1'))
    assert "1024" not in str(e.value)  # the extent file's own size is not told


def test_sparse_extent_that_is_not_sparse(tmp_path: Path) -> None:
    (tmp_path / "x.vmdk").write_bytes(bytes(4096))
    with pytest.raises(CorruptImage, match=r"'x.vmdk' \(line 8\) is corrupt"):
        open_path(descriptor_file(tmp_path, 'RW 8 SPARSE "x.vmdk"', "twoGbMaxExtentSparse"))


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (b"# Disk DescriptorFile\n" + b"#" * (2 * MiB), (LimitExceeded, "2097174 bytes")),
        (b'createType="monolithicFlat"\n\xff\xfe\n', (CorruptImage, "not UTF-8")),
        (
            b'createType="monolithicFlat"\n' + b"RW 1 ZERO\n" * 100_000,
            (LimitExceeded, "more than 1024 extents"),
        ),
        (b"\x00" * 512, (CorruptImage, "no createType")),
    ],
)
def test_hostile_descriptor_files(tmp_path: Path, content: bytes, expect: Expect) -> None:
    path = tmp_path / "d.vmdk"
    path.write_bytes(content)
    opener = Opener(tmp_path)
    with pytest.raises(expect[0], match=expect[1]):
        open_path(path, opener)
    assert opener.calls == []


def test_descriptor_left_by_qemu_with_a_stale_tail(images: Path) -> None:
    """qemu rewrites the CID line on the first write of every run and writes the whole
    descriptor back (block/vmdk.c, vmdk_write_cid): when the new CID prints two or more hex
    digits shorter (about one run in 256), the old text's last bytes stay behind the NUL.
    CI met one in a fresh image. The same rewrite is applied here, and qemu reads the result
    as vmguard does."""
    _, text = embedded_descriptor(images / "sparse.vmdk")
    cid = re.search(rb"^CID=([0-9a-f]+)$", text, re.M)
    assert cid is not None and len(cid.group(1)) >= 3
    rewritten = text[: cid.start(1)] + b"9c312d"[: len(cid.group(1)) - 2] + text[cid.end(1) :]
    stale = rewritten + b"\0" + text[len(rewritten) + 1 :]
    assert stale.rstrip(b"\0").count(b"\0") == 1 and stale.endswith(b"\n")
    image = with_descriptor(images, "stale.vmdk", stale)
    assert_same_as_qemu(image)


def test_text_after_a_descriptor_nul_is_never_read(images: Path, tmp_path: Path) -> None:
    _, text = embedded_descriptor(images / "sparse.vmdk")
    hidden = text + b'\0RW 8 FLAT "/etc/shadow" 0\nparentFileNameHint="/etc/passwd"\n'
    hostile = with_descriptor(images, "nul.vmdk", hidden)
    opener = Opener(images)
    disk = open_path(hostile, opener).disk
    assert opener.calls == []
    assert disk.read_at(70 * MiB, MiB) == open_path(images / "sparse.vmdk").disk.read_at(
        70 * MiB, MiB
    )
    (tmp_path / "d-flat.vmdk").write_bytes(b"F" * 512)
    flat = tmp_path / "d.vmdk"
    flat.write_bytes(
        b'createType="monolithicFlat"\nRW 1 FLAT "d-flat.vmdk" 0\n\0RW 8 FLAT "/etc/shadow" 0\n'
    )
    opener = Opener(tmp_path)
    assert open_path(flat, opener).disk.read_at(0, 1024) == b"F" * 512
    assert [c.name for c in opener.calls] == ["d-flat.vmdk"]


def test_descriptor_offset_away_from_0x200_is_refused(images: Path) -> None:
    """The header points one sector into the padding (an empty descriptor), while qemu reads
    parent and CID at 0x200 whatever the header says: two readings, refused."""
    moved = patched(
        images, "sparse.vmdk", "fuzz-descriptor-offset-0x400.vmdk", {0x1C: struct.pack("<Q", 2)}
    )
    with pytest.raises(ImageRefused, match="ambiguous"):
        open_path(moved)


@pytest.mark.parametrize("layout", ["short-descriptor", "moved-descriptor"])
def test_parent_hidden_from_the_header_but_not_from_qemu(
    images: Path, tmp_path: Path, layout: str
) -> None:
    """qemu finds parentFileNameHint in the 10 KiB C string at 0x200; an image whose header
    describes a different text would have qemu read a backing file vmguard never opens."""
    _, text = embedded_descriptor(images / "sparse.vmdk")
    canary = tmp_path / "canary.raw"
    canary.write_bytes(CANARY * 100)
    hint = b'parentFileNameHint="' + bytes(canary) + b'"\n'
    if layout == "short-descriptor":  # 1 sector, no NUL in it; the hint in the next one
        body = text.replace(b"parentCID=ffffffff", b"parentCID=12345678").ljust(512, b"#")
        image = with_descriptor(images, f"{layout}.vmdk", body[:511] + b"\n" + hint)
        image = patched(images, image.name, image.name, {0x24: struct.pack("<Q", 1)})
    else:  # the header points at sector 10; qemu still reads sector 1
        stale = text.replace(b"parentCID=ffffffff", b"parentCID=12345678") + hint
        image = with_descriptor(images, f"{layout}.vmdk", stale)
        start, _ = embedded_descriptor(images / "sparse.vmdk")
        image = patched(
            images, image.name, image.name,
            {0x1C: struct.pack("<Q", 10), start + 10 * 512 - 512: text.ljust(10 * 512, b"\0")},
        )  # fmt: skip
    info = subprocess.run(["qemu-img", "info", image], capture_output=True, text=True)
    assert str(canary) in info.stdout  # qemu does follow the hint
    opener = Opener(tmp_path)
    with pytest.raises(ImageRefused, match="ambiguous"):
        open_path(image, opener)
    assert opener.calls == []


def test_extent_count_limit_is_configurable(tmp_path: Path) -> None:
    (tmp_path / "x-flat.vmdk").write_bytes(b"X" * 512)
    path = descriptor_file(tmp_path, "\n".join(['RW 1 FLAT "x-flat.vmdk" 0'] * 3))
    opener = Opener(tmp_path)
    with pytest.raises(LimitExceeded, match="more than 2 extents"):
        open_vmdk(FileSource(path), limits=Limits(max_extents=2), open_reference=opener)
    assert opener.calls == []
    assert open_path(path).disk.read_at(0, 2000) == b"X" * 1536


def test_reads_stay_fast_and_bounded(images: Path) -> None:
    """A 256 GiB sparse disk: metadata only is loaded; holes read as zeros without I/O."""
    tiny = images / "huge.vmdk"
    run("qemu-img", "create", "-f", "vmdk", tiny, "256G")
    disk = open_path(tiny).disk
    assert disk.size == 256 << 30
    assert disk.read_at(disk.size - 4 * MiB, 8 * MiB) == bytes(4 * MiB)
    assert isinstance(disk, SparseSource)
    assert list(disk.data_ranges()) == []


# --- where qemu reads a VMDK differently (review findings; each refused now) ----------


def test_capacity_zero_is_a_descriptor_file_to_qemu(images: Path, tmp_path: Path) -> None:
    """qemu reads a capacity-0 sparse file as a text descriptor at its descriptor offset,
    extents included; vmguard saw an empty disk and no host file."""
    text = b"# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
    text += b'createType="monolithicFlat"\nRW 1 FLAT "/etc/hostname" 0\n'
    image = with_descriptor(images, "cap0.vmdk", text)
    image = patched(images, image.name, image.name, {12: struct.pack("<Q", 0)})
    assert "/etc/hostname" in run_info(image)
    opener = Opener(tmp_path)
    with pytest.raises(ImageRefused, match="capacity 0"):
        open_path(image, opener)
    assert opener.calls == []


def test_part_sector_sparse_file_is_refused(images: Path) -> None:
    """qemu finds a streamOptimized footer by whole sectors; a part sector lets it and a
    reader that counts from the file's end find different footers."""
    data = (images / "stream.vmdk").read_bytes()
    odd = images / "odd.vmdk"
    odd.write_bytes(data + b"\0" * 256)
    with pytest.raises(ImageRefused, match="whole sectors"):
        open_path(odd)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        # qemu's sscanf runs past a blank line and reads the next extent twice
        ('RW 8 FLAT "x-flat.vmdk" 0\n\nRW 8 FLAT "x-flat.vmdk" 0', "after a blank line"),
        # a sparse extent's size comes from its header in qemu
        ('RW 2048 SPARSE "s.vmdk"\nRW 8 FLAT "x-flat.vmdk" 0', "bytes the descriptor says"),
    ],
)
def test_descriptor_files_qemu_lays_out_otherwise(
    images: Path, tmp_path: Path, lines: str, message: str
) -> None:
    (tmp_path / "x-flat.vmdk").write_bytes(b"x" * 4096)
    shutil.copyfile(images / "sparse.vmdk", tmp_path / "s.vmdk")
    with pytest.raises(ImageRefused, match=message):
        open_path(descriptor_file(tmp_path, lines, create_type="twoGbMaxExtentSparse"))


@pytest.mark.parametrize(
    ("spelling", "message"),
    [
        ('parentFileNameHint= "base.vmdk"', "exactly"),  # qemu: an empty name, no parent
        ('parentFileNameHint = "base.vmdk"', "exactly"),
        ("parentFileNameHint=base.vmdk", "exactly"),
    ],
)
def test_parent_hint_spelled_otherwise_is_refused(
    images: Path, tmp_path: Path, spelling: str, message: str
) -> None:
    _, text = embedded_descriptor(images / "delta.vmdk")
    line = next(x for x in text.split(b"\n") if x.startswith(b"parentFileNameHint"))
    hostile = with_descriptor(images, "hint.vmdk", text.replace(line, spelling.encode()))
    with pytest.raises(ImageRefused, match=message):
        open_path(hostile, Opener(images))


def test_parent_hint_past_what_qemu_reads_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x-flat.vmdk").write_bytes(b"x" * 4096)
    path = descriptor_file(tmp_path, 'RW 8 FLAT "x-flat.vmdk" 0')
    text = path.read_bytes().replace(b"parentCID=ffffffff\n", b"")
    path.write_bytes(text + b"#" * 10240 + b'\nparentCID=12345678\nparentFileNameHint="b.vmdk"\n')
    with pytest.raises(ImageRefused, match="past its first 10240 bytes"):
        open_path(path, Opener(tmp_path))


def run_info(image: Path) -> str:
    return subprocess.run(
        ["qemu-img", "info", "-f", "vmdk", image], capture_output=True, text=True
    ).stdout
