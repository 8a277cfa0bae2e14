"""Packed fuzz inputs stand for their image byte for byte, and any input is a valid one."""

from __future__ import annotations

import random
from pathlib import Path

from .packed import BLOCK, MAX_IMAGE, PackedSource, pack, unpack
from .seeds import _content_raw


def test_a_real_image_round_trips(tmp_path: Path) -> None:
    image = _content_raw(tmp_path).read_bytes()  # sfdisk's MBR and data blocks among zeros
    packed = pack(image)
    assert len(packed) < len(image) // 4
    assert unpack(packed) == image
    source, rng = PackedSource(packed), random.Random(1)
    for _ in range(500):
        offset, length = rng.randrange(len(image) + BLOCK), rng.randrange(3 * BLOCK)
        assert source.read_at(offset, length) == image[offset : offset + length]
    assert PackedSource(packed).write_to(tmp_path / "out").read_bytes() == image


def test_plain_and_mutated_inputs_are_read_as_they_say() -> None:
    assert PackedSource(b"plain bytes").read_at(6, 100) == b"bytes"
    huge = pack(b"x" * 10)[:4] + (1 << 62).to_bytes(8, "little") + (5).to_bytes(4, "little")
    source = PackedSource(huge + (0).to_bytes(4, "little") + (0).to_bytes(4, "little") + b"ab")
    assert source.size == MAX_IMAGE
    assert source.read_at(0, 4) == b"ab\0\0"  # the block is short; duplicates: first wins
    assert source.read_at(MAX_IMAGE - 2, 10) == b"\0\0"
