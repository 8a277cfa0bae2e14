"""Sparse disk images as compact fuzz inputs: the non-zero 4 KiB blocks only, with a map.

A btrfs, VHDX, LUKS or GPT image made by the real tools is megabytes of zeros around a few
dozen blocks of structure; fed whole, every execution copies and hashes megabytes and the
fuzzer spends its mutations on zeros. Packed, the same image is a few kilobytes::

    b"VGPK" | u64 image size | u32 block count N | N x u32 block number | N x 4096 bytes

(little-endian). Unpacking gives back the image byte for byte: listed blocks hold their
bytes, everything else reads as zeros; a block past the input's end is short (zeros). A
map the fuzzer mutated (duplicates, blocks past the size) is read as it says, first entry
wins. The image size is capped so that a mutated size cannot ask the readers for more
than ``MAX_IMAGE`` of zeros.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

MAGIC = b"VGPK"
BLOCK = 4096
MAX_IMAGE = 256 << 20
MAX_BLOCKS = 4096
_HEAD = struct.Struct("<4sQI")


def pack(image: bytes) -> bytes:
    """The packed form of ``image`` (its non-zero blocks, in order)."""
    numbers = [n for n in range(-(-len(image) // BLOCK)) if any(image[n * BLOCK : (n + 1) * BLOCK])]
    if len(numbers) > MAX_BLOCKS:
        raise ValueError(f"{len(numbers)} non-zero blocks: too many to pack")
    blocks = b"".join(image[n * BLOCK : (n + 1) * BLOCK].ljust(BLOCK, b"\0") for n in numbers)
    return (
        _HEAD.pack(MAGIC, len(image), len(numbers))
        + struct.pack(f"<{len(numbers)}I", *numbers)
        + blocks
    )


class PackedSource:
    """A ByteSource over a packed image (see the module docstring); any input is accepted:
    one without the magic is read as a plain image."""

    def __init__(self, data: bytes) -> None:
        self._blocks: dict[int, bytes] = {}
        if data[:4] != MAGIC or len(data) < _HEAD.size:
            self._size = len(data)
            self._plain: bytes | None = data
            return
        self._plain = None
        _, size, count = _HEAD.unpack_from(data)
        count = min(count, MAX_BLOCKS, (len(data) - _HEAD.size) // 4)
        numbers = struct.unpack_from(f"<{count}I", data, _HEAD.size)
        base = _HEAD.size + 4 * count
        self._size = min(size, MAX_IMAGE)
        for i, number in enumerate(numbers):
            if number * BLOCK < self._size:
                block = data[base + i * BLOCK : base + (i + 1) * BLOCK]
                self._blocks.setdefault(number, block)

    @property
    def size(self) -> int:
        return self._size

    def read_at(self, offset: int, length: int) -> bytes:
        if self._plain is not None:
            return self._plain[offset : offset + length]
        end = min(offset + max(length, 0), self._size)
        if offset < 0 or offset >= end:
            return b""
        out = bytearray(end - offset)
        first, last = offset // BLOCK, (end - 1) // BLOCK
        if last - first + 1 > len(self._blocks):  # a long read over few blocks
            wanted = (n for n in sorted(self._blocks) if first <= n <= last)
        else:
            wanted = (n for n in range(first, last + 1) if n in self._blocks)
        for number in wanted:
            block = self._blocks[number]
            start = number * BLOCK
            lo, hi = max(start, offset), min(start + len(block), end)
            if lo < hi:
                out[lo - offset : hi - offset] = block[lo - start : hi - start]
        return bytes(out)

    def write_to(self, path: Path) -> Path:
        """The image as a sparse file at ``path`` (for readers that take a path)."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            if self._plain is not None:
                os.write(fd, self._plain)
                return path
            os.ftruncate(fd, self._size)
            for number, block in self._blocks.items():
                os.pwrite(fd, block[: max(0, self._size - number * BLOCK)], number * BLOCK)
        finally:
            os.close(fd)
        return path


def unpack(data: bytes) -> bytes:
    """The whole image a packed input stands for (plain inputs are returned as they are)."""
    source = PackedSource(data)
    return source.read_at(0, source.size)
