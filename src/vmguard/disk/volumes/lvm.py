"""LVM2 physical volumes on a disk, turned into the logical volumes they hold.

A PV is found by its label ("LABELONE" ... "LVM2 001") in one of its first four 512-byte
sectors. The label's CRC, the metadata-area header's CRC and the text metadata's CRC are
checked, the text is bounded by ``MAX_METADATA_BYTES`` and parsed here (no C parser sees
it). Linear LVs, including several segments and several PVs of the same disk, become
sources; striped, mirrored, RAID, thin, cache and snapshot LVs are reported unsupported.

This module must never read outside a PV (every segment is bounded by its PV's size), use
a device path written in the metadata, or let a malformed label or text escape as
anything but ``CorruptImage`` from ``read_physical_volume`` or a ``Problem``.
"""

from __future__ import annotations

import re
import struct
import zlib
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from vmguard.disk.errors import CorruptImage, LimitExceeded
from vmguard.disk.source import ByteSource, SliceSource, clamp
from vmguard.disk.volumes.interface import Volume
from vmguard.problems import Problem, Stage

LABEL_ID = b"LABELONE"
LABEL_TYPE = b"LVM2 001"
MDA_MAGIC = b" LVM2 x[5A%r0N*>"
MAX_METADATA_BYTES = 1024 * 1024
"""Text metadata read at most. LVM keeps the text under half its metadata area, which is
1 MiB by default; the bound also caps what the parsed dicts can cost (tens of MiB)."""
MAX_NESTING = 16
SECTOR = 512
_INITIAL_CRC = 0xF597A6CF
_MDA_HEADER = struct.Struct("<I16sIQQ")
_RAW_LOCN = struct.Struct("<QQII")

Value: TypeAlias = "int | str | list[int | str] | Section"
Section: TypeAlias = "dict[str, Value]"

_TOKEN = re.compile(
    r"""\s+|\#[^\n]*|(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?![\w.+-]))"""
    r"""|(?P<word>[\w.+-]+)|(?P<punct>[{}\[\]=,])"""
)


@dataclass(frozen=True, slots=True)
class PhysicalVolume:
    """A PV on this disk and the volume-group metadata it carries."""

    pv_id: str
    """The PV UUID as the metadata writes it (with dashes)."""
    volume: Volume
    """The partition (or whole disk) that is the PV."""
    vg_name: str
    vg: Section
    """The parsed volume-group section of the newest valid metadata copy."""


def lvm_crc(data: bytes, initial: int = _INITIAL_CRC) -> int:
    """LVM's CRC-32: zlib's polynomial, LVM's seed, no final inversion."""
    return ~zlib.crc32(data, ~initial & 0xFFFFFFFF) & 0xFFFFFFFF


def find_label(source: ByteSource) -> tuple[int, bytes] | None:
    """The sector number and bytes of an LVM2 label in sectors 0-3, or None."""
    head = source.read_at(0, 4 * SECTOR)
    for number in range(4):
        sector = head[number * SECTOR : (number + 1) * SECTOR]
        if len(sector) == SECTOR and sector[:8] == LABEL_ID and sector[24:32] == LABEL_TYPE:
            return number, sector
    return None


def read_physical_volume(volume: Volume) -> PhysicalVolume | None:
    """The PV in ``volume`` with its metadata; None when it has no label or no VG yet."""
    found = find_label(volume.source)
    if found is None:
        return None
    number, sector = found
    where, crc, offset = struct.unpack_from("<QII", sector, 8)
    if where != number:
        raise CorruptImage(f"LVM label in sector {number} says it is in sector {where}")
    if lvm_crc(sector[20:]) != crc:
        raise CorruptImage("LVM label CRC mismatch")
    if not 32 <= offset <= SECTOR - 72:
        raise CorruptImage(f"LVM PV header offset {offset} out of range")
    raw_id = sector[offset : offset + 32].decode("ascii", errors="replace")
    pv_id = "-".join(raw_id[a:b] for a, b in ((0, 6), (6, 10), (10, 14), (14, 18),
                                              (18, 22), (22, 26), (26, 32)))  # fmt: skip
    areas = _disk_locations(sector, offset + 40)  # data areas, then metadata areas
    metadata_areas = areas[1] if len(areas) > 1 else []
    copies: list[tuple[int, str, Section]] = []
    errors: list[str] = []
    for mda_offset, mda_size in metadata_areas:
        try:
            text = _metadata_text(volume.source, mda_offset, mda_size)
            if text is None:
                continue
            vg_name, vg = _volume_group(parse_metadata(text))
            copies.append((_int(vg, "seqno"), vg_name, vg))
        except CorruptImage as err:
            errors.append(str(err))
    if not copies:
        if errors:
            raise CorruptImage("no valid LVM metadata: " + "; ".join(errors))
        return None  # an orphan PV: labelled, not in a VG
    _seqno, vg_name, vg = max(copies, key=lambda c: c[0])
    return PhysicalVolume(pv_id, volume, vg_name, vg)


def logical_volumes(
    pvs: Sequence[PhysicalVolume], first_index: int = 1
) -> tuple[list[Volume], list[Problem]]:
    """The linear LVs of every VG whose PVs are in ``pvs``, numbered from ``first_index``."""
    groups: dict[str, list[PhysicalVolume]] = {}
    for pv in pvs:
        groups.setdefault(_str(pv.vg, "id"), []).append(pv)
    volumes: list[Volume] = []
    problems: list[Problem] = []
    for members in groups.values():
        newest = max(members, key=lambda p: _int(p.vg, "seqno"))
        on_disk = {p.pv_id: p.volume for p in members}
        try:
            _group_volumes(newest, on_disk, first_index + len(volumes), volumes, problems)
        except CorruptImage as err:
            problems.append(Problem(Stage.VOLUMES, f"lvm {newest.vg_name}", str(err)))
    return volumes, problems


def _group_volumes(
    pv: PhysicalVolume,
    on_disk: dict[str, Volume],
    index: int,
    volumes: list[Volume],
    problems: list[Problem],
) -> None:
    vg = pv.vg
    extent = _int(vg, "extent_size") * SECTOR
    if extent <= 0:
        raise CorruptImage(f"extent size {extent} is not positive")
    # pvN name -> (PV volume or None when on another disk, data start in bytes)
    pv_map: dict[str, tuple[Volume | None, int]] = {}
    for name, section in _section(vg, "physical_volumes").items():
        if isinstance(section, dict):
            pv_map[name] = (on_disk.get(_str(section, "id")), _int(section, "pe_start") * SECTOR)
    lvs = _section(vg, "logical_volumes")
    snapshots = _snapshot_stores(lvs)
    for lv_name, lv in lvs.items():
        if not isinstance(lv, dict) or "VISIBLE" not in _list(lv, "status"):
            continue  # a hidden component (thin pool data, mirror image, snapshot store)
        where = f"lvm {pv.vg_name}/{lv_name}"
        try:
            if lv_name in snapshots:
                raise CorruptImage("unsupported LV layout: snapshot")
            pieces, start = _linear_pieces(lv, pv_map, extent)
        except CorruptImage as err:
            problems.append(Problem(Stage.VOLUMES, where, str(err)))
            continue
        source = pieces[0] if len(pieces) == 1 else ConcatenatedSource(pieces)
        volumes.append(
            Volume(
                index=index,
                scheme="lvm",
                start=start,
                size=source.size,
                source=source,
                uuid=_str(lv, "id"),
                name=f"{pv.vg_name}/{lv_name}",
            )
        )
        index += 1


def _linear_pieces(
    lv: Section, pv_map: dict[str, tuple[Volume | None, int]], extent: int
) -> tuple[list[ByteSource], int]:
    """The LV's segments as slices of their PVs, and the disk offset of the first."""
    segments = sorted(
        (s for k, s in lv.items() if k.startswith("segment") and isinstance(s, dict)),
        key=lambda s: _int(s, "start_extent"),
    )
    if not segments:
        raise CorruptImage("logical volume has no segments")
    pieces: list[ByteSource] = []
    start = -1
    next_extent = 0
    for seg in segments:
        kind = _str(seg, "type")
        stripes = _int(seg, "stripe_count") if kind == "striped" else 0
        if kind != "striped" or stripes != 1:
            layout = f"striped across {stripes} stripes" if kind == "striped" else kind
            raise CorruptImage(f"unsupported LV layout: {layout}")
        if _int(seg, "start_extent") != next_extent:
            raise CorruptImage(f"segments not contiguous at extent {next_extent}")
        count = _int(seg, "extent_count")
        pv_name, first_pe = [*_list(seg, "stripes"), "", -1][:2]
        if not isinstance(pv_name, str) or not isinstance(first_pe, int) or first_pe < 0:
            raise CorruptImage("malformed stripes list")
        pv_volume, pe_start = pv_map.get(pv_name, (None, 0))
        if pv_volume is None:
            raise CorruptImage(f"segment on physical volume {pv_name!r}, which is not on this disk")
        offset, length = pe_start + first_pe * extent, count * extent
        try:
            pieces.append(SliceSource(pv_volume.source, offset, length))
        except CorruptImage as err:
            raise CorruptImage(f"segment at extent {next_extent}: {err}") from err
        if start < 0:
            start = pv_volume.start + offset
        next_extent += count
    return pieces, start


def _snapshot_stores(lvs: Section) -> set[str]:
    """Names of LVs that hold a (non-thin) snapshot's copy-on-write data."""
    stores: set[str] = set()
    for lv in lvs.values():
        if isinstance(lv, dict):
            for seg in lv.values():
                if isinstance(seg, dict) and seg.get("type") == "snapshot":
                    stores.add(str(seg.get("cow_store")))
    return stores


class ConcatenatedSource:
    """Sources laid end to end: a linear LV made of several segments."""

    def __init__(self, pieces: Sequence[ByteSource]) -> None:
        self._pieces = tuple(pieces)
        self._starts: list[int] = []
        total = 0
        for piece in self._pieces:
            self._starts.append(total)
            total += piece.size
        self._size = total

    @property
    def size(self) -> int:
        return self._size

    def read_at(self, offset: int, length: int) -> bytes:
        n = clamp(offset, length, self._size)
        chunks: list[bytes] = []
        i = bisect_right(self._starts, offset) - 1
        while n > 0:
            piece, inner = self._pieces[i], offset - self._starts[i]
            chunk = piece.read_at(inner, min(n, piece.size - inner))
            if not chunk:
                raise CorruptImage(f"short read in LV segment {i}")
            chunks.append(chunk)
            offset, n, i = offset + len(chunk), n - len(chunk), i + 1
        return b"".join(chunks)


def _disk_locations(sector: bytes, offset: int) -> list[list[tuple[int, int]]]:
    """The zero-terminated lists of (offset, size) pairs that follow the PV header."""
    lists: list[list[tuple[int, int]]] = [[]]
    while offset + 16 <= len(sector) and len(lists) <= 2:
        pair = struct.unpack_from("<QQ", sector, offset)
        offset += 16
        if pair == (0, 0):
            lists.append([])
        else:
            lists[-1].append(pair)
    return lists


def _metadata_text(source: ByteSource, mda_offset: int, mda_size: int) -> str | None:
    """The current text in one circular metadata area; None when it holds none."""
    header = source.read_at(mda_offset, SECTOR)
    if len(header) < SECTOR:
        raise CorruptImage(f"metadata area at {mda_offset} beyond the PV end")
    crc, magic, version, start, size = _MDA_HEADER.unpack_from(header)
    if magic != MDA_MAGIC or version != 1 or start != mda_offset:
        raise CorruptImage(f"no LVM metadata area header at {mda_offset}")
    if lvm_crc(header[4:]) != crc:
        raise CorruptImage(f"metadata area header CRC mismatch at {mda_offset}")
    if size != mda_size or size <= SECTOR:
        raise CorruptImage(f"metadata area size {size} disagrees with the label ({mda_size})")
    text_offset, text_size, text_crc, flags = _RAW_LOCN.unpack_from(header, _MDA_HEADER.size)
    if text_size == 0 or flags & 1:  # RAW_LOCN_IGNORED
        return None
    if text_size > MAX_METADATA_BYTES:
        raise LimitExceeded(f"LVM metadata of {text_size} bytes exceeds {MAX_METADATA_BYTES}")
    if not SECTOR <= text_offset < size or text_size > size - SECTOR:
        raise CorruptImage(f"metadata text {text_offset}+{text_size} outside its area")
    first = min(text_size, size - text_offset)  # the buffer wraps after its header
    text = source.read_at(start + text_offset, first)
    text += source.read_at(start + SECTOR, text_size - first)
    if len(text) != text_size or lvm_crc(text) != text_crc:
        raise CorruptImage(f"metadata text CRC mismatch in the area at {mda_offset}")
    return text.rstrip(b"\0").decode("utf-8", errors="replace")


def parse_metadata(text: str) -> Section:
    """Parse LVM's text configuration format into nested dicts, streaming, no recursion."""
    tokens = _tokens(text)
    root: Section = {}
    stack = [root]
    for kind, tok in tokens:
        if tok == "}" and len(stack) > 1:
            stack.pop()
            continue
        following = next(tokens, ("", ""))[1]
        if kind != "word" or following not in ("{", "="):
            raise CorruptImage(f"LVM metadata syntax error near {tok[:40]!r}")
        if following == "=":
            stack[-1][tok] = _value(tokens)
            continue
        if len(stack) > MAX_NESTING:
            raise CorruptImage("LVM metadata nested too deeply")
        section: Section = {}
        stack[-1][tok] = section
        stack.append(section)
    if len(stack) != 1:
        raise CorruptImage("LVM metadata ends inside a section")
    return root


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    """(kind, text) tokens; comments and blanks dropped, anything unknown refused."""
    pos = 0
    for match in _TOKEN.finditer(text):
        if match.start() != pos:
            break
        pos = match.end()
        if match.lastgroup:
            yield match.lastgroup, match.group(match.lastgroup)
    if pos != len(text):
        raise CorruptImage(f"LVM metadata: unexpected character at offset {pos}")


def _value(tokens: Iterator[tuple[str, str]]) -> Value:
    """A scalar, or a flat list of scalars, after a "key =" in the token stream."""
    token = next(tokens, ("", ""))
    if token[1] != "[":
        return _scalar(token)
    items: list[int | str] = []
    for token in tokens:
        if token[1] == "]":
            return items
        if token[1] != ",":
            items.append(_scalar(token))
    raise CorruptImage("LVM metadata ends inside a list")


def _scalar(token: tuple[str, str]) -> int | str:
    kind, text = token
    if kind == "num":
        return int(text)
    if kind == "str":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    raise CorruptImage(f"LVM metadata: unexpected {text[:40]!r}")


def _volume_group(root: Section) -> tuple[str, Section]:
    groups = [(name, v) for name, v in root.items() if isinstance(v, dict)]
    if len(groups) != 1:
        raise CorruptImage(f"LVM metadata holds {len(groups)} volume groups, expected 1")
    return groups[0]


def _section(section: Section, key: str) -> Section:
    value = section.get(key, {})
    if not isinstance(value, dict):
        raise CorruptImage(f"LVM metadata: {key} is not a section")
    return value


def _int(section: Section, key: str) -> int:
    value = section.get(key)
    if not isinstance(value, int):
        raise CorruptImage(f"LVM metadata: {key} is missing or not a number")
    return value


def _str(section: Section, key: str) -> str:
    value = section.get(key)
    if not isinstance(value, str):
        raise CorruptImage(f"LVM metadata: {key} is missing or not a string")
    return value


def _list(section: Section, key: str) -> list[int | str]:
    value = section.get(key, [])
    if not isinstance(value, list):
        raise CorruptImage(f"LVM metadata: {key} is not a list")
    return value
