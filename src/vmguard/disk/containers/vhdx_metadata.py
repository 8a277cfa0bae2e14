"""VHDX (MS-VHDX) structures before the BAT: headers, region table and metadata items.

Parses the first megabyte and the metadata region of an untrusted VHDX into frozen
dataclasses, checking signatures, CRC-32C checksums, counts and every offset against the file
before use. It must never open a host file, and never treats a parent locator as a path: the
locator's key/value pairs are returned as untrusted strings.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

from vmguard.disk.containers.crc32c import crc32c
from vmguard.disk.errors import CorruptImage, LimitExceeded, UnsupportedFormat
from vmguard.disk.source import ByteSource
from vmguard.text import shown_name

VHDX_MAGIC = b"vhdxfile"
"""File type identifier at offset 0."""

KiB = 1024
MiB = 1024 * 1024
HEADER_OFFSETS = (64 * KiB, 128 * KiB)
HEADER_SIZE = 4 * KiB
REGION_TABLE_OFFSETS = (192 * KiB, 256 * KiB)
REGION_TABLE_SIZE = 64 * KiB
METADATA_TABLE_SIZE = 64 * KiB
MAX_TABLE_ENTRIES = 2047
MAX_ITEM_SIZE = 64 * KiB
MAX_VIRTUAL_SIZE = 64 * 1024**4
"""64 TiB: the largest virtual disk MS-VHDX allows."""

BAT_REGION = uuid.UUID("2dc27766-f623-4200-9d64-115e9bfd4a08")
METADATA_REGION = uuid.UUID("8b7ca206-4790-4b9a-b8fe-575f050f886e")
FILE_PARAMETERS = uuid.UUID("caa16737-fa36-4d43-b3b6-33f0aa44e76b")
VIRTUAL_DISK_SIZE = uuid.UUID("2fa54224-cd1b-4876-b211-5dbed83bf4b8")
PAGE83_DATA = uuid.UUID("beca12ab-b2e6-4523-93ef-c309e000c746")
LOGICAL_SECTOR_SIZE = uuid.UUID("8141bf1d-a96f-4709-ba47-f233a8faab5f")
PHYSICAL_SECTOR_SIZE = uuid.UUID("cda348c7-445d-4471-9cc9-e9885251c556")
PARENT_LOCATOR = uuid.UUID("a8d35f2d-b30b-454d-abf7-d3d84834ab0c")
VHDX_PARENT_LOCATOR_TYPE = uuid.UUID("b04aefb7-d19e-4a81-b789-25b8e9445913")
_KNOWN_ITEMS = {
    FILE_PARAMETERS: 8,
    VIRTUAL_DISK_SIZE: 8,
    PAGE83_DATA: 16,
    LOGICAL_SECTOR_SIZE: 4,
    PHYSICAL_SECTOR_SIZE: 4,
    PARENT_LOCATOR: 20,
}
_ZERO_GUID = uuid.UUID(int=0)

_HEADER = struct.Struct("<4sIQ16s16s16sHHIQ")
_REGION_HEADER = struct.Struct("<4sIII")
_REGION_ENTRY = struct.Struct("<16sQII")
_METADATA_HEADER = struct.Struct("<8sHH20x")
_METADATA_ENTRY = struct.Struct("<16sIII4x")
_LOCATOR_HEADER = struct.Struct("<16sHH")
_LOCATOR_ENTRY = struct.Struct("<IIHH")


@dataclass(frozen=True, slots=True)
class Region:
    """A region of the file named by the region table."""

    offset: int
    """File offset, a multiple of 1 MiB."""
    length: int
    """Length in bytes, a multiple of 1 MiB."""


@dataclass(frozen=True, slots=True)
class VhdxLayout:
    """Everything needed to read the BAT and the payload blocks, validated."""

    sequence: int
    """Sequence number of the header in use."""
    bat: Region
    """The block allocation table region."""
    block_size: int
    """Payload block size: a power of two from 1 MiB to 256 MiB."""
    leave_blocks_allocated: bool
    """LeaveBlockAllocated: set on fixed disks."""
    has_parent: bool
    """HasParent: a differencing disk."""
    virtual_size: int
    """Guest-visible disk size, a multiple of the logical sector size."""
    logical_sector_size: int
    """512 or 4096."""
    physical_sector_size: int
    """512 or 4096."""
    parent_locator: tuple[tuple[str, str], ...]
    """Untrusted key/value pairs of the parent locator (differencing disks only)."""


def _read(source: ByteSource, offset: int, length: int, what: str) -> bytes:
    data = source.read_at(offset, length)
    if len(data) != length:
        raise CorruptImage(f"VHDX {what} at offset {offset} is truncated")
    return data


def _checksum_ok(raw: bytes) -> bool:
    stored = int.from_bytes(raw[4:8], "little")
    return crc32c(raw[:4] + bytes(4) + raw[8:]) == stored


def read_header(source: ByteSource) -> int:
    """Sequence number of the current header (valid, most recent), refusing a dirty log."""
    candidates: list[tuple[int, bytes]] = []
    for offset in HEADER_OFFSETS:
        raw = _read(source, offset, HEADER_SIZE, "header")
        if raw[:4] == b"head" and _checksum_ok(raw):
            candidates.append((_HEADER.unpack_from(raw)[2], raw))
    if not candidates:
        raise CorruptImage("VHDX has no valid header (signature or CRC-32C wrong in both)")
    candidates.sort(key=lambda c: c[0], reverse=True)
    # Disk2vhd writes two identical headers; two different ones with one number is damage.
    newest, *older = candidates
    if older and older[0][0] == newest[0] and older[0][1] != newest[1]:
        raise CorruptImage("VHDX headers differ but have the same sequence number")
    fields = _HEADER.unpack_from(newest[1])
    sequence, log_guid, version = fields[2], uuid.UUID(bytes_le=fields[5]), fields[7]
    if version != 1:
        raise UnsupportedFormat(f"VHDX header version {version} is not supported")
    if log_guid != _ZERO_GUID:
        raise UnsupportedFormat(
            f"VHDX log needs replay (log GUID {log_guid}): the image was not closed cleanly"
        )
    return int(sequence)


def read_regions(source: ByteSource) -> tuple[Region, Region]:
    """The (BAT, metadata) regions from the first valid region table."""
    raw = b""
    for offset in REGION_TABLE_OFFSETS:
        candidate = _read(source, offset, REGION_TABLE_SIZE, "region table")
        if candidate[:4] == b"regi" and _checksum_ok(candidate):
            raw = candidate
            break
    if not raw:
        raise CorruptImage("VHDX has no valid region table (signature or CRC-32C wrong)")
    count = _REGION_HEADER.unpack_from(raw)[2]
    if count > MAX_TABLE_ENTRIES:
        raise LimitExceeded(f"VHDX region table entry count {count} exceeds {MAX_TABLE_ENTRIES}")
    found: dict[uuid.UUID, Region] = {}
    for i in range(count):
        guid_raw, offset, length, flags = _REGION_ENTRY.unpack_from(raw, 16 + i * 32)
        guid = uuid.UUID(bytes_le=guid_raw)
        if guid not in (BAT_REGION, METADATA_REGION):
            if flags & 1:
                raise UnsupportedFormat(f"VHDX requires unknown region {guid}")
            continue
        if guid in found:
            raise CorruptImage(f"VHDX region {guid} appears twice")
        if offset < MiB or offset % MiB or length == 0 or length % MiB:
            raise CorruptImage(f"VHDX region {guid} at {offset} (+{length}) is misaligned")
        if offset + length > source.size:
            raise CorruptImage(f"VHDX region {guid} at {offset} (+{length}) is beyond end of file")
        found[guid] = Region(offset, length)
    if BAT_REGION not in found or METADATA_REGION not in found:
        raise CorruptImage("VHDX region table lacks the BAT or the metadata region")
    bat, meta = found[BAT_REGION], found[METADATA_REGION]
    if bat.offset < meta.offset + meta.length and meta.offset < bat.offset + bat.length:
        raise CorruptImage("VHDX BAT and metadata regions overlap")
    return bat, meta


def _read_items(source: ByteSource, region: Region) -> dict[uuid.UUID, bytes]:
    raw = _read(source, region.offset, METADATA_TABLE_SIZE, "metadata table")
    signature, _reserved, count = _METADATA_HEADER.unpack_from(raw)
    if signature != b"metadata":
        raise CorruptImage("VHDX metadata table signature 'metadata' not found")
    if count > MAX_TABLE_ENTRIES:
        raise LimitExceeded(f"VHDX metadata entry count {count} exceeds {MAX_TABLE_ENTRIES}")
    items: dict[uuid.UUID, bytes] = {}
    for i in range(count):
        guid_raw, offset, length, flags = _METADATA_ENTRY.unpack_from(raw, 32 + i * 32)
        guid = uuid.UUID(bytes_le=guid_raw)
        if flags & 1:  # IsUser: free-form, not ours to interpret.
            continue
        if guid not in _KNOWN_ITEMS:
            if flags & 4:
                raise UnsupportedFormat(f"VHDX requires unknown metadata item {guid}")
            continue
        if guid in items:
            raise CorruptImage(f"VHDX metadata item {guid} appears twice")
        if length > MAX_ITEM_SIZE or length < _KNOWN_ITEMS[guid]:
            raise CorruptImage(f"VHDX metadata item {guid} has invalid length {length}")
        if offset < METADATA_TABLE_SIZE or offset + length > region.length:
            raise CorruptImage(f"VHDX metadata item {guid} at {offset} is outside its region")
        items[guid] = _read(source, region.offset + offset, length, "metadata item")
    return items


def read_layout(source: ByteSource) -> VhdxLayout:
    """Validate the identifier, header, region table and metadata of a VHDX file."""
    if _read(source, 0, 8, "file identifier") != VHDX_MAGIC:
        raise CorruptImage("VHDX file identifier 'vhdxfile' not found")
    sequence = read_header(source)
    bat, meta = read_regions(source)
    items = _read_items(source, meta)
    for guid, name in (
        (FILE_PARAMETERS, "file parameters"),
        (VIRTUAL_DISK_SIZE, "virtual disk size"),
        (LOGICAL_SECTOR_SIZE, "logical sector size"),
        (PHYSICAL_SECTOR_SIZE, "physical sector size"),
    ):
        if guid not in items:
            raise CorruptImage(f"VHDX metadata lacks the {name} item")
    block_size, flags = struct.unpack_from("<II", items[FILE_PARAMETERS])
    (virtual_size,) = struct.unpack_from("<Q", items[VIRTUAL_DISK_SIZE])
    (logical,) = struct.unpack_from("<I", items[LOGICAL_SECTOR_SIZE])
    (physical,) = struct.unpack_from("<I", items[PHYSICAL_SECTOR_SIZE])
    if block_size < MiB or block_size > 256 * MiB or block_size & (block_size - 1):
        raise CorruptImage(f"VHDX block size {block_size} is not a power of two in 1-256 MiB")
    if logical not in (512, 4096) or physical not in (512, 4096):
        raise CorruptImage(f"VHDX sector sizes {logical}/{physical} are not 512 or 4096")
    if virtual_size > MAX_VIRTUAL_SIZE:
        raise LimitExceeded(f"VHDX virtual size {virtual_size} exceeds 64 TiB")
    if virtual_size % logical:
        raise CorruptImage(f"VHDX virtual size {virtual_size} is not a multiple of {logical}")
    has_parent = bool(flags & 2)
    locator: tuple[tuple[str, str], ...] = ()
    if has_parent and PARENT_LOCATOR in items:
        locator = parse_parent_locator(items[PARENT_LOCATOR])
    return VhdxLayout(
        sequence=sequence,
        bat=bat,
        block_size=block_size,
        leave_blocks_allocated=bool(flags & 1),
        has_parent=has_parent,
        virtual_size=virtual_size,
        logical_sector_size=logical,
        physical_sector_size=physical,
        parent_locator=locator,
    )


def parse_parent_locator(item: bytes) -> tuple[tuple[str, str], ...]:
    """The key/value pairs of a parent locator item, as untrusted strings."""
    type_raw, _reserved, count = _LOCATOR_HEADER.unpack_from(item)
    locator_type = uuid.UUID(bytes_le=type_raw)
    if locator_type != VHDX_PARENT_LOCATOR_TYPE:
        raise UnsupportedFormat(f"VHDX parent locator type {locator_type} is not supported")
    if _LOCATOR_HEADER.size + count * _LOCATOR_ENTRY.size > len(item):
        raise CorruptImage(f"VHDX parent locator has {count} entries, more than fit")
    pairs: dict[str, str] = {}
    for i in range(count):
        key_at, value_at, key_len, value_len = _LOCATOR_ENTRY.unpack_from(
            item, _LOCATOR_HEADER.size + i * _LOCATOR_ENTRY.size
        )
        if key_at + key_len > len(item) or value_at + value_len > len(item):
            raise CorruptImage(f"VHDX parent locator entry {i} points outside its item")
        try:
            key = item[key_at : key_at + key_len].decode("utf-16-le")
            value = item[value_at : value_at + value_len].decode("utf-16-le")
        except UnicodeDecodeError as err:
            raise CorruptImage(f"VHDX parent locator entry {i} is not valid UTF-16LE") from err
        if key in pairs:
            raise CorruptImage(f"VHDX parent locator key {shown_name(key)!r} appears twice")
        pairs[key] = value
    return tuple(pairs.items())
