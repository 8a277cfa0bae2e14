"""MBR (DOS) partition tables: four primary entries and the extended partition's EBR chain.

Also tells a real MBR from a volume boot record (a FAT or NTFS filesystem written to the
whole disk ends its first sector with 0x55AA too), and cuts partitions to the disk.

This module must never follow an EBR outside the extended partition, visit one twice, walk
more than ``Limits.max_logical_partitions`` of them, or let a malformed entry escape as
anything but a recorded ``Problem``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vmguard.disk.errors import CorruptImage
from vmguard.disk.limits import Limits
from vmguard.disk.source import ByteSource, SliceSource
from vmguard.disk.volumes.bitlocker import looks_like_bitlocker
from vmguard.disk.volumes.interface import Volume, VolumeLayout
from vmguard.problems import Problem, Stage

BOOT_SIGNATURE = b"\x55\xaa"
EXTENDED_TYPES = frozenset({0x05, 0x0F, 0x85})
PROTECTIVE_TYPE = 0xEE
LINUX_LVM_TYPE = 0x8E
_ENTRY = struct.Struct("<B3xB3xII")
_TABLE_OFFSET = 446
_FAT_SECTOR_SIZES = frozenset({512, 1024, 2048, 4096})


@dataclass(frozen=True, slots=True)
class MbrEntry:
    """One 16-byte partition entry; ``start_lba`` is relative to what the table says."""

    boot: int
    """Boot indicator: 0x00 or 0x80 in a valid table."""
    type_id: int
    """Partition type byte; 0 means the slot is empty."""
    start_lba: int
    sectors: int


def parse_entries(sector: bytes) -> tuple[MbrEntry, ...]:
    """The four partition entries of an MBR or EBR sector; () if the sector is short."""
    if len(sector) < 512:
        return ()
    return tuple(MbrEntry(*_ENTRY.unpack_from(sector, _TABLE_OFFSET + 16 * i)) for i in range(4))


def is_volume_boot_record(sector: bytes) -> bool:
    """True when sector 0 is the boot sector of a FAT, exFAT, NTFS, HPFS or BitLocker
    volume."""
    if len(sector) < 512:
        return False
    if sector[3:11] in (b"NTFS    ", b"EXFAT   ") or looks_like_bitlocker(sector):
        return True
    if sector[38] == 0x28 and sector[54:62] == b"HPFS    ":  # OS/2's extended BPB
        return True
    bytes_per_sector, per_cluster, reserved, fats = struct.unpack_from("<HBHB", sector, 11)
    return (
        sector[0] in (0xEB, 0xE9)
        and bytes_per_sector in _FAT_SECTOR_SIZES
        and per_cluster != 0
        and per_cluster & (per_cluster - 1) == 0
        and reserved >= 1
        and fats in (1, 2)
    )


def looks_like_mbr(sector: bytes) -> bool:
    """True when sector 0 is a partition table: boot signature, sane boot flags, not a VBR."""
    if len(sector) < 512 or sector[510:512] != BOOT_SIGNATURE:
        return False
    if is_volume_boot_record(sector):
        return False
    # Linux's msdos.c test: any boot indicator other than 0x00/0x80 means "not a table".
    return all(e.boot in (0x00, 0x80) for e in parse_entries(sector))


def partition_source(
    disk: ByteSource, start: int, size: int, where: str, problems: list[Problem]
) -> tuple[ByteSource, int] | None:
    """The bytes of a partition, cut at the end of the disk; None if it starts past the end.

    Every cut or refusal is appended to ``problems``.
    """
    if start < 0 or size <= 0:
        problems.append(Problem(Stage.VOLUMES, where, f"invalid range: start {start}, size {size}"))
        return None
    if start >= disk.size:
        problems.append(
            Problem(
                Stage.VOLUMES, where, f"starts at byte {start}, beyond the disk end ({disk.size})"
            )
        )
        return None
    if start + size > disk.size:
        clipped = disk.size - start
        problems.append(
            Problem(
                Stage.VOLUMES,
                where,
                f"extends beyond the disk end ({start}+{size} > {disk.size}); "
                f"clipped to {clipped} bytes",
            )
        )
        size = clipped
    try:
        return SliceSource(disk, start, size), size
    except CorruptImage as err:  # pragma: no cover - the checks above make this unreachable
        problems.append(Problem(Stage.VOLUMES, where, str(err)))
        return None


def read_mbr(
    disk: ByteSource, *, limits: Limits, sector_size: int = 512, sector0: bytes | None = None
) -> VolumeLayout:
    """Read the MBR in sector 0 and the logical partitions of its first extended partition."""
    if sector0 is None:
        sector0 = disk.read_at(0, 512)
    reader = _MbrReader(disk, sector_size, sector0)
    extended: MbrEntry | None = None
    for number, entry in enumerate(parse_entries(sector0), start=1):
        if entry.type_id == 0:
            continue
        if entry.type_id in EXTENDED_TYPES:
            if extended is None:
                extended = entry
            else:
                reader.problem(f"mbr partition {number}", "second extended partition ignored")
            continue
        if entry.type_id == PROTECTIVE_TYPE:
            reader.problem(f"mbr partition {number}", "GPT protective entry but no valid GPT")
        reader.add(number, entry, entry.start_lba)
    if extended is not None:
        reader.walk_ebr_chain(extended, limits.max_logical_partitions)
    return VolumeLayout("mbr", tuple(reader.volumes), tuple(reader.problems), reader.disk_id)


class _MbrReader:
    """Collects the partitions and problems of one MBR disk."""

    def __init__(self, disk: ByteSource, sector_size: int, sector0: bytes) -> None:
        self.disk = disk
        self.sector_size = sector_size
        signature = struct.unpack_from("<I", sector0, 440)[0] if len(sector0) >= 444 else 0
        self.disk_id = f"{signature:08x}"
        self.volumes: list[Volume] = []
        self.problems: list[Problem] = []

    def problem(self, where: str, message: str) -> None:
        """Record a problem and go on."""
        self.problems.append(Problem(Stage.VOLUMES, where, message))

    def add(self, number: int, entry: MbrEntry, start_lba: int) -> None:
        """Add partition ``number`` at absolute ``start_lba``, cut to the disk."""
        where = f"mbr partition {number}"
        if start_lba == 0:
            self.problem(where, "starts at sector 0, over the partition table")
            return
        start = start_lba * self.sector_size
        found = partition_source(
            self.disk, start, entry.sectors * self.sector_size, where, self.problems
        )
        if found is None:
            return
        source, size = found
        self.volumes.append(
            Volume(
                index=number,
                scheme="mbr",
                start=start,
                size=size,
                source=source,
                type_id=f"{entry.type_id:02x}",
                uuid=f"{self.disk_id}-{number:02d}",
            )
        )

    def walk_ebr_chain(self, extended: MbrEntry, max_ebrs: int) -> None:
        """Follow the EBR linked list; every EBR link is relative to the extended start."""
        ext_start = extended.start_lba
        ext_end = ext_start + extended.sectors
        visited: set[int] = set()
        ebr = ext_start
        number = 5
        while True:
            where = f"mbr logical partition {number}"
            if ebr in visited:
                self.problem(
                    where,
                    f"EBR chain loops back to sector {ebr}; "
                    f"stopped after {number - 5} logical partitions",
                )
                return
            if not ext_start <= ebr < ext_end:
                self.problem(where, f"EBR at sector {ebr} lies outside the extended partition")
                return
            if len(visited) >= max_ebrs:
                self.problem(where, f"more than {max_ebrs} EBRs in the chain; rest ignored")
                return
            visited.add(ebr)
            sector = self.disk.read_at(ebr * self.sector_size, 512)
            if len(sector) < 512 or sector[510:512] != BOOT_SIGNATURE:
                self.problem(where, f"no valid EBR at sector {ebr}")
                return
            data, link = parse_entries(sector)[:2]
            if data.type_id != 0 and data.type_id not in EXTENDED_TYPES:
                if data.start_lba == 0:
                    self.problem(where, f"starts on its own EBR (sector {ebr})")
                else:
                    if ebr + data.start_lba + data.sectors > ext_end:
                        self.problem(where, "extends beyond the extended partition")
                    self.add(number, data, ebr + data.start_lba)
                number += 1
            if link.type_id not in EXTENDED_TYPES:
                return
            ebr = ext_start + link.start_lba
