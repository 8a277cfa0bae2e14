"""GUID partition tables (UEFI spec §5.3), with the backup header as a fallback.

Both headers are validated before their entry array is read: header size and CRC32, the
header's own LBA, an entry size that is a power of two in 128..4096, an array no larger than
4 MiB that fits between the header and the usable area, and the array's CRC32. The
protective MBR is checked and anything odd (hybrid MBR, boot flag, wrong start) reported.

This module must never allocate or loop by a count the image gives before bounding it, and
never let a malformed header or entry escape as anything but a ``Problem``.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from dataclasses import dataclass

from vmguard.disk.errors import CorruptImage
from vmguard.disk.limits import Limits
from vmguard.disk.source import ByteSource
from vmguard.disk.volumes.interface import Volume, VolumeLayout
from vmguard.disk.volumes.mbr import (
    BOOT_SIGNATURE,
    PROTECTIVE_TYPE,
    parse_entries,
    partition_source,
)
from vmguard.problems import Problem, Stage

SIGNATURE = b"EFI PART"
MAX_ENTRY_ARRAY_BYTES = 4 * 1024 * 1024
"""libfdisk's cap too: no real table needs more than 128 entries of 128 bytes."""
LINUX_LVM_TYPE = "e6d6d379-f507-44c2-a23c-238f2a3df928"
_MIN_HEADER = 92
_HEADER = struct.Struct("<8sIII4xQQQQ16sQIII")
_ENTRY = struct.Struct("<16s16sQQQ")
_NAME_BYTES = 72


@dataclass(frozen=True, slots=True)
class GptHeader:
    """A header that passed every check, with its entry array already CRC-verified."""

    lba: int
    alternate_lba: int
    first_usable: int
    last_usable: int
    disk_guid: str
    entry_size: int
    entries: bytes
    """The whole entry array (count × entry size bytes, at most 4 MiB)."""


def has_gpt_signature(disk: ByteSource, sector_size: int) -> bool:
    """True when LBA 1 holds a GPT header signature, or the last LBA does and sector 0 is
    a protective MBR (a stale backup header alone, left under a filesystem, is no GPT)."""
    if disk.read_at(sector_size, 8) == SIGNATURE:
        return True
    if not any(e.type_id == PROTECTIVE_TYPE for e in parse_entries(disk.read_at(0, 512))):
        return False
    last = disk.size // sector_size - 1
    return last > 1 and disk.read_at(last * sector_size, 8) == SIGNATURE


def read_gpt(disk: ByteSource, *, limits: Limits, sector_size: int = 512) -> VolumeLayout:
    """Read the GPT, falling back to the backup header when the primary is unusable."""
    problems = _protective_mbr_problems(disk.read_at(0, 512))
    last_lba = disk.size // sector_size - 1
    try:
        header = _read_header(disk, 1, sector_size, primary=True)
    except CorruptImage as primary_err:
        try:
            header = _read_header(disk, last_lba, sector_size, primary=False)
        except CorruptImage as backup_err:
            problems.append(
                Problem(
                    Stage.VOLUMES,
                    "gpt",
                    f"no valid GPT header: primary: {primary_err}; backup: {backup_err}",
                )
            )
            return VolumeLayout("gpt", (), tuple(problems))
        problems.append(
            Problem(
                Stage.VOLUMES,
                "gpt",
                f"primary GPT header invalid ({primary_err}); "
                f"using the backup header at LBA {last_lba}",
            )
        )
    else:
        problems.extend(_backup_problems(disk, header, sector_size, last_lba))
    volumes = _entries(disk, header, sector_size, limits, problems)
    problems.extend(_overlaps(volumes))
    return VolumeLayout("gpt", tuple(volumes), tuple(problems), header.disk_guid)


def _read_header(disk: ByteSource, lba: int, sector_size: int, *, primary: bool) -> GptHeader:
    """Parse and validate the header at ``lba``; raise CorruptImage saying what is wrong."""
    raw = disk.read_at(lba * sector_size, sector_size) if lba > 0 else b""
    if len(raw) < _MIN_HEADER:
        raise CorruptImage(f"no header at LBA {lba}: beyond the end of the disk")
    (sig, _rev, header_size, crc, my_lba, alt_lba, first, last, guid, entries_lba, count,
     entry_size, entries_crc) = _HEADER.unpack_from(raw)  # fmt: skip
    if sig != SIGNATURE:
        raise CorruptImage(f"no GPT signature at LBA {lba}")
    if not _MIN_HEADER <= header_size <= sector_size:
        raise CorruptImage(f"header size {header_size} outside {_MIN_HEADER}..{sector_size}")
    if zlib.crc32(raw[:16] + b"\0\0\0\0" + raw[20:header_size]) != crc:
        raise CorruptImage(f"header CRC32 mismatch at LBA {lba}")
    if my_lba != lba:
        raise CorruptImage(f"header at LBA {lba} says it is at LBA {my_lba}")
    if not 128 <= entry_size <= 4096 or entry_size & (entry_size - 1):
        raise CorruptImage(f"partition entry size {entry_size} is not a power of two in 128..4096")
    array_bytes = count * entry_size
    if array_bytes > MAX_ENTRY_ARRAY_BYTES:
        raise CorruptImage(
            f"partition entry array of {count} x {entry_size} bytes exceeds "
            f"{MAX_ENTRY_ARRAY_BYTES} bytes"
        )
    if first > last:
        raise CorruptImage(f"first usable LBA {first} is after last usable LBA {last}")
    array_end = entries_lba + -(-array_bytes // sector_size)
    if primary and not (entries_lba >= 2 and array_end <= first):
        raise CorruptImage(
            f"partition entry array (LBA {entries_lba}..{array_end - 1}) "
            f"overlaps the header or the usable area (first usable LBA {first})"
        )
    if not primary and not (last < entries_lba and array_end <= lba):
        raise CorruptImage(
            f"backup partition entry array (LBA {entries_lba}..{array_end - 1}) "
            "is not between the usable area and the backup header"
        )
    entries = disk.read_at(entries_lba * sector_size, array_bytes)
    if len(entries) < array_bytes:
        raise CorruptImage("partition entry array truncated by the end of the disk")
    if zlib.crc32(entries) != entries_crc:
        raise CorruptImage(f"partition entry array CRC32 mismatch (header at LBA {lba})")
    return GptHeader(lba, alt_lba, first, last, _guid(guid), entry_size, entries)


def _backup_problems(
    disk: ByteSource, primary: GptHeader, sector_size: int, last_lba: int
) -> list[Problem]:
    """Report a missing or damaged backup: often the sign of a truncated disk."""
    if primary.alternate_lba != last_lba:
        return [
            Problem(
                Stage.VOLUMES,
                "gpt",
                f"backup header LBA {primary.alternate_lba} is not the last LBA {last_lba} "
                "(disk truncated or resized)",
            )
        ]
    try:
        _read_header(disk, last_lba, sector_size, primary=False)
    except CorruptImage as err:
        return [Problem(Stage.VOLUMES, "gpt", f"backup GPT header invalid: {err}")]
    return []


def _entries(
    disk: ByteSource,
    header: GptHeader,
    sector_size: int,
    limits: Limits,
    problems: list[Problem],
) -> list[Volume]:
    """The non-empty entries, at most ``limits.max_gpt_entries`` of them."""
    volumes: list[Volume] = []
    found = 0
    for offset in range(0, len(header.entries), header.entry_size):
        type_guid, unique, first, last, _attrs = _ENTRY.unpack_from(header.entries, offset)
        if type_guid == bytes(16):
            continue
        found += 1
        if found > limits.max_gpt_entries:
            problems.append(
                Problem(
                    Stage.VOLUMES,
                    "gpt",
                    f"more than {limits.max_gpt_entries} partitions; the rest ignored",
                )
            )
            break
        number = offset // header.entry_size + 1
        where = f"gpt partition {number}"
        if last < first:
            problems.append(
                Problem(Stage.VOLUMES, where, f"ends (LBA {last}) before it starts ({first})")
            )
            continue
        if first < header.first_usable or last > header.last_usable:
            problems.append(
                Problem(
                    Stage.VOLUMES,
                    where,
                    f"LBA {first}..{last} outside the usable area "
                    f"{header.first_usable}..{header.last_usable}",
                )
            )
        start = first * sector_size
        located = partition_source(disk, start, (last - first + 1) * sector_size, where, problems)
        if located is None:
            continue
        source, size = located
        volumes.append(
            Volume(
                index=number,
                scheme="gpt",
                start=start,
                size=size,
                source=source,
                type_id=_guid(type_guid),
                uuid=_guid(unique),
                label=_name(header.entries[offset + 56 : offset + 56 + _NAME_BYTES]),
            )
        )
    return volumes


def _overlaps(volumes: list[Volume]) -> list[Problem]:
    """One problem per partition that starts inside an earlier one."""
    problems: list[Problem] = []
    widest: Volume | None = None
    for vol in sorted(volumes, key=lambda v: (v.start, v.index)):
        if widest is not None and vol.start < widest.start + widest.size:
            problems.append(
                Problem(
                    Stage.VOLUMES,
                    f"gpt partition {vol.index}",
                    f"overlaps gpt partition {widest.index}",
                )
            )
        if widest is None or vol.start + vol.size > widest.start + widest.size:
            widest = vol
    return problems


def _protective_mbr_problems(sector0: bytes) -> list[Problem]:
    """What is odd about the protective MBR; the GPT is read regardless."""
    where = "gpt protective mbr"
    if len(sector0) < 512 or sector0[510:512] != BOOT_SIGNATURE:
        return [Problem(Stage.VOLUMES, where, "no boot signature in sector 0")]
    entries = parse_entries(sector0)
    protective = [e for e in entries if e.type_id == PROTECTIVE_TYPE]
    others = sorted({e.type_id for e in entries if e.type_id not in (0, PROTECTIVE_TYPE)})
    problems: list[Problem] = []
    if not protective:
        problems.append(Problem(Stage.VOLUMES, where, "no 0xEE protective entry"))
    if others:
        types = ", ".join(f"0x{t:02x}" for t in others)
        problems.append(
            Problem(Stage.VOLUMES, where, f"hybrid MBR: also lists partitions of type {types}")
        )
    for entry in protective:
        if entry.boot != 0:
            problems.append(
                Problem(Stage.VOLUMES, where, f"0xEE entry has boot flag 0x{entry.boot:02x}")
            )
        if entry.start_lba != 1:
            problems.append(
                Problem(Stage.VOLUMES, where, f"0xEE entry starts at LBA {entry.start_lba}, not 1")
            )
    return problems


def _guid(raw: bytes) -> str:
    return str(uuid.UUID(bytes_le=raw))


def _name(raw: bytes) -> str:
    """A UTF-16LE partition name cut at the first NUL code unit (36 units at most)."""
    for i in range(0, len(raw) - 1, 2):
        if raw[i : i + 2] == b"\0\0":
            raw = raw[:i]
            break
    return raw.decode("utf-16-le", errors="replace")
