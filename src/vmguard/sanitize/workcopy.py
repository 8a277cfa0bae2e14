"""The private raw working copy: written from vmguard's own reader, zeroed, converted out.

The copy is made from the guest-visible disk vmguard opened under the hostile-image policy,
so no other tool ever resolves a name stored in the input (qemu-img reads only this raw
file). Free space is zeroed by punching holes (or writing zeros) into the ranges each
filesystem's own allocation map reports free — e2fsprogs' ``dumpe2fs`` for ext (it knows
which blocks of an uninitialised group hold metadata), vmguard's XFS and FAT map readers
otherwise — which changes no filesystem structure.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vmguard.disk.errors import DiskError
from vmguard.disk.freespace import fat_free, ntfs_free, xfs_free
from vmguard.disk.fskind import EXT_KINDS, FsKind
from vmguard.disk.layout import PlacedVolume
from vmguard.disk.source import ByteSource, DataRange, SparseSource
from vmguard.sanitize.fswriters import SanitizeError, run
from vmguard.text import is_decimal

_CHUNK = 4 * 1024 * 1024
_FALLOC_FL_KEEP_SIZE = 1
_FALLOC_FL_PUNCH_HOLE = 2
_FREE_LINE = re.compile(r"^\s+Free blocks: (.*)$")

# Output formats: qemu-img's name for it, and the creation options that keep the virtual
# size exact (VHD's CHS rounding otherwise changes it).
OUTPUT_FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "qcow2": ("qcow2", ()),
    "raw": ("raw", ()),
    "vmdk": ("vmdk", ("-o", "subformat=monolithicSparse")),
    "vhdx": ("vhdx", ()),
    "vhd": ("vpc", ("-o", "subformat=dynamic,force_size=on")),
}


def write_working_copy(
    disk: ByteSource, raw: Path, progress: Callable[[int, int], None] | None = None
) -> int:
    """Copy the guest-visible disk into ``raw`` (sparse: holes and zero chunks skipped);
    returns the bytes written."""
    ranges = (
        list(disk.data_ranges()) if isinstance(disk, SparseSource) else [DataRange(0, disk.size)]
    )
    total = sum(r.length for r in ranges)
    done = 0
    written = 0
    fd = os.open(raw, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, disk.size)
        for r in ranges:
            offset, end = r.offset, min(r.offset + r.length, disk.size)
            while offset < end:
                data = disk.read_at(offset, min(_CHUNK, end - offset))
                if not data:
                    break
                if data.count(0) != len(data):
                    os.pwrite(fd, data, offset)
                    written += len(data)
                offset += len(data)
                done += len(data)
                if progress is not None:
                    progress(done, total)
    finally:
        os.close(fd)
    return written


def ext_free_ranges(raw: Path, offset: int) -> Iterator[DataRange]:
    """Free blocks of the ext filesystem at ``offset`` of ``raw``, as dumpe2fs reports them."""
    code, out, err = run(["dumpe2fs", f"{raw}?offset={offset}"])
    if code != 0:
        raise SanitizeError(f"dumpe2fs failed: {' '.join(err.split())[:200]}")
    size_line = re.search(r"^Block size:\s+(\d+)$", out, re.MULTILINE)
    if size_line is None:
        raise SanitizeError("dumpe2fs printed no block size")
    bs = int(size_line.group(1))
    for line in out.splitlines():
        m = _FREE_LINE.match(line)
        if m is None:
            continue
        for part in m.group(1).split(","):
            lo, _, hi = part.strip().partition("-")
            if is_decimal(lo):
                first = int(lo)
                last = int(hi) if is_decimal(hi) else first
                yield DataRange(first * bs, (last - first + 1) * bs)


def free_ranges(raw: Path, placed: PlacedVolume) -> list[DataRange]:
    """Free ranges of a placed volume's filesystem, relative to the volume."""
    kind = placed.signature.kind
    if kind in EXT_KINDS:
        return list(ext_free_ranges(raw, placed.volume.start))
    try:
        if kind == FsKind.XFS:
            return list(xfs_free(placed.volume.source))
        if kind == FsKind.VFAT:
            return list(fat_free(placed.volume.source))
        if kind == FsKind.NTFS and placed.filesystem is not None:
            return list(ntfs_free(placed.filesystem.volume, placed.volume.size))
    except DiskError as err:
        raise SanitizeError(f"free space of {placed.where}: {err.diagnostics()}") from err
    raise SanitizeError(f"no free-space zeroing for {kind or 'unknown'} filesystems")


def _libc_fallocate() -> object | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name, use_errno=True)
    fallocate = libc.fallocate
    fallocate.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)
    fallocate.restype = ctypes.c_int
    return fallocate


def _zero_fd(fd: int, fallocate: object | None, offset: int, length: int) -> None:
    mode = _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE
    if fallocate is not None and fallocate(fd, mode, offset, length) == 0:  # type: ignore[operator]
        return
    zeros = bytes(min(_CHUNK, length))
    end = offset + length
    while offset < end:
        n = min(_CHUNK, end - offset)
        os.pwrite(fd, zeros[:n], offset)
        offset += n


def _data_segments(fd: int, start: int, end: int) -> Iterator[tuple[int, int]]:
    """[lo, hi) spans of ``fd`` between start and end that may hold data (SEEK_DATA/HOLE;
    the whole span where the filesystem cannot tell)."""
    offset = start
    while offset < end:
        try:
            lo = os.lseek(fd, offset, os.SEEK_DATA)
            hi = os.lseek(fd, lo, os.SEEK_HOLE)
        except OSError as err:
            if err.errno == errno.ENXIO:  # no data after offset
                return
            yield offset, end
            return
        if lo >= end:
            return
        yield lo, min(hi, end)
        offset = hi


def copy_range(src: Path, src_offset: int, dst: Path, dst_offset: int, length: int) -> None:
    """Make ``dst[dst_offset:+length]`` equal ``src[src_offset:+length]`` (``dst`` created
    if missing): the range is first punched (or zeroed) in ``dst``, then only the data
    ``src`` holds is copied, zero chunks skipped — so copies out and back stay sparse and
    cost what the filesystem holds, not its size."""
    fallocate = _libc_fallocate()
    src_fd = os.open(src, os.O_RDONLY)
    dst_fd = os.open(dst, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(dst_fd).st_size < dst_offset + length:
            os.ftruncate(dst_fd, dst_offset + length)
        _zero_fd(dst_fd, fallocate, dst_offset, length)
        shift = dst_offset - src_offset
        for lo, hi in _data_segments(src_fd, src_offset, src_offset + length):
            offset = lo
            while offset < hi:
                data = os.pread(src_fd, min(_CHUNK, hi - offset), offset)
                if not data:
                    break
                if data.count(0) != len(data):
                    os.pwrite(dst_fd, data, offset + shift)
                offset += len(data)
    finally:
        os.close(src_fd)
        os.close(dst_fd)


def zero_ranges(raw: Path, ranges: list[DataRange]) -> int:
    """Zero byte ranges of ``raw``: punched as holes where the filesystem allows, else
    overwritten with zeros. Returns the bytes zeroed."""
    fallocate = _libc_fallocate()
    total = 0
    fd = os.open(raw, os.O_RDWR)
    try:
        size = os.fstat(fd).st_size
        for r in ranges:
            offset, end = r.offset, min(r.offset + r.length, size)
            if end > offset:
                _zero_fd(fd, fallocate, offset, end - offset)
                total += end - offset
    finally:
        os.close(fd)
    return total


@dataclass(frozen=True, slots=True)
class ZeroedVolume:
    """Free space zeroed on one volume."""

    where: str
    mountpoint: str | None
    bytes_zeroed: int


def convert_out(raw: Path, out: Path, fmt: str) -> None:
    """Write ``raw`` as ``out`` in ``fmt`` with qemu-img (zeroed ranges become sparse)."""
    if fmt not in OUTPUT_FORMATS:
        raise SanitizeError(f"cannot write {fmt} images (use {', '.join(OUTPUT_FORMATS)})")
    qemu_name, options = OUTPUT_FORMATS[fmt]
    code, _, err = run(
        ["qemu-img", "convert", "-q", "-f", "raw", "-O", qemu_name, *options, raw, out]
    )
    if code != 0:
        raise SanitizeError(f"qemu-img convert failed: {' '.join(err.split())[:300]}")
