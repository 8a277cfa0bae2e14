"""The chunk map's device runs: chunks laid end to end on the device read as one run."""

from __future__ import annotations

import pytest

from vmguard.disk.btrfs.chunks import Chunk, ChunkMap
from vmguard.disk.errors import CorruptImage

MIB = 1 << 20
SINGLE, RAID0, DUP = 0x1, 0x8 | 0x1, 0x20 | 0x1


def _map(*chunks: Chunk) -> ChunkMap:
    found = ChunkMap()
    for chunk in chunks:
        found.add(chunk)
    return found


def _chunk(logical: int, physical: int, flags: int = SINGLE, *more: int) -> Chunk:
    return Chunk(logical * MIB, 8 * MIB, flags, 64 * 1024, 1, (physical * MIB, *more))


def test_adjacent_chunks_on_adjacent_device_ranges_are_one_run() -> None:
    chunks = _map(_chunk(100, 10), _chunk(108, 18), _chunk(116, 26))
    assert chunks.device_run(104 * MIB, 20 * MIB) == (14 * MIB, 20 * MIB)
    assert chunks.device_run(104 * MIB, 2 * MIB) == (14 * MIB, 2 * MIB)
    assert chunks.device_run(104 * MIB, 100 * MIB) == (14 * MIB, 20 * MIB)  # map ends


def test_runs_stop_where_the_device_layout_does() -> None:
    apart = _map(_chunk(100, 10), _chunk(108, 40))  # next chunk elsewhere on the device
    assert apart.device_run(100 * MIB, 16 * MIB) == (10 * MIB, 8 * MIB)
    gap = _map(_chunk(100, 10), _chunk(109, 18))  # a logical gap between the chunks
    assert gap.device_run(100 * MIB, 16 * MIB) == (10 * MIB, 8 * MIB)
    striped = _map(_chunk(100, 10), _chunk(108, 18, RAID0, 60 * MIB))
    assert striped.device_run(100 * MIB, 16 * MIB) == (10 * MIB, 8 * MIB)
    mirrored = _map(_chunk(100, 10, DUP, 50 * MIB), _chunk(108, 18, DUP, 58 * MIB))
    assert mirrored.device_run(100 * MIB, 16 * MIB) == (10 * MIB, 16 * MIB)  # first copies


def test_an_unmapped_address_is_refused() -> None:
    with pytest.raises(CorruptImage, match="in no chunk"):
        _map(_chunk(100, 10)).device_run(50 * MIB, MIB)
    with pytest.raises(CorruptImage, match="in no chunk"):
        _map(_chunk(100, 10)).device_run(108 * MIB, MIB)
