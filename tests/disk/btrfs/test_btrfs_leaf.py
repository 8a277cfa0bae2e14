"""The C leaf parser (``_leaf.c``) against its Python twin (``tree.parse_items``): the same
keys and payloads on every leaf of a real filesystem, and the same answer (or the same
refusal) on thousands of mutated leaves, which also run the C code on hostile bytes."""

from __future__ import annotations

import random
import struct
from collections.abc import Callable

import pytest

from btrfsimages import make_source_tree, mkfs_btrfs, open_guestfs
from memsource import BytesSource
from nativemode import require_current_build
from vmguard import native
from vmguard.disk.btrfs import tree
from vmguard.disk.btrfs.chunks import ChunkMap
from vmguard.disk.btrfs.tree import HEADER_SIZE
from vmguard.disk.errors import CorruptImage

ITEM = 25
Parse = Callable[[bytes, int, int, int], tree.LeafItems | None]


@pytest.fixture(scope="module")
def leaves(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """Every leaf block a walk of a mkfs.btrfs --rootdir volume reads, raw."""
    work = tmp_path_factory.mktemp("leaf")
    guestfs = open_guestfs(mkfs_btrfs(make_source_tree(work / "tree"), work / "fs.raw"))
    for _entry in guestfs.walk("/"):
        pass
    found = guestfs.resolve("/")
    assert found is not None
    trees = found[1].fs.reader.volume.trees
    raw = [trees._raw_block(a) for a, block in trees._cache.items() if block.level == 0]
    assert len(raw) > 20
    return raw


@pytest.fixture(scope="module")
def compiled_parse() -> Parse:
    require_current_build()
    from vmguard.disk.btrfs import _leaf

    return _leaf.parse_items


def _count(raw: bytes) -> int:
    return int(struct.unpack_from("<I", raw, 96)[0])


def test_real_leaves_parse_the_same(leaves: list[bytes], compiled_parse: Parse) -> None:
    items = 0
    for raw in leaves:
        body = len(raw) - HEADER_SIZE
        expected = tree.parse_items(raw, HEADER_SIZE, _count(raw), body)
        assert expected is not None
        assert compiled_parse(raw, HEADER_SIZE, _count(raw), body) == expected
        items += len(expected[0])
    assert items > 1000


def test_mutated_leaves_get_the_same_answer(leaves: list[bytes], compiled_parse: Parse) -> None:
    rng = random.Random(1414)
    refused = 0
    for n in range(4000):
        raw = bytearray(rng.choice(leaves))
        count = _count(bytes(raw))
        for _ in range(rng.randint(1, 12)):  # bytes of the item table: keys, offsets, sizes
            at = HEADER_SIZE + rng.randrange(max(count, 1) * ITEM)
            raw[at] = rng.randrange(256)
        if n % 7 == 0:  # a payload offset or size to the edge of the block and past it
            at = HEADER_SIZE + rng.randrange(max(count, 1)) * ITEM + rng.choice((17, 21))
            struct.pack_into("<I", raw, at, rng.choice((0, len(raw) - HEADER_SIZE, 2**32 - 1)))
        body = len(raw) - HEADER_SIZE - rng.choice((0, 0, 1, 4096))
        count = rng.randrange((len(raw) - HEADER_SIZE) // ITEM + 1) if n % 5 == 0 else count
        block = bytes(raw)
        expected = tree.parse_items(block, HEADER_SIZE, count, body)
        assert compiled_parse(block, HEADER_SIZE, count, body) == expected, n
        refused += expected is None
    assert 100 < refused < 3900  # both answers were met many times


def test_the_c_parser_checks_its_own_bounds(compiled_parse: Parse) -> None:
    raw = bytes(HEADER_SIZE + 2 * ITEM)
    assert compiled_parse(raw, HEADER_SIZE, 2, 2 * ITEM) == (((0, 0, 0), (0, 0, 0)), (b"", b""))
    for header, count, body in ((HEADER_SIZE, 3, 0), (len(raw) + 1, 0, 0), (0, 0, len(raw) + 1)):
        with pytest.raises(ValueError):
            compiled_parse(raw, header, count, body)
    with pytest.raises(TypeError):
        compiled_parse(bytearray(raw), HEADER_SIZE, 0, 0)


def test_the_walk_uses_the_parser_the_build_says() -> None:
    compiled = tree._parse_items is not tree.parse_items
    assert compiled == native.build_wanted()
    raw = bytearray(HEADER_SIZE + ITEM)  # a leaf of one item, its payload past the end
    struct.pack_into("<Q", raw, 48, 4096)  # the address the block claims
    struct.pack_into("<I", raw, 96, 1)  # its item count
    struct.pack_into("<II", raw, HEADER_SIZE + 17, 100, 1)  # payload offset and size
    reader = tree.TreeReader(
        BytesSource(b""), ChunkMap(), nodesize=len(raw), csum_type=0, fsid=bytes(16)
    )
    with pytest.raises(CorruptImage, match="item out of bounds"):
        reader._parse(4096, bytes(raw))
