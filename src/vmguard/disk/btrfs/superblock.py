"""The btrfs superblock: its copies at 64 KiB, 64 MiB and 256 GiB, checked and chosen.

Every copy that fits on the device is read and its checksum verified; the valid copy with
the highest generation wins, as ``btrfs rescue super-recover`` would pick it. Features this
reader cannot honour (zoned layout, extent tree v2, RAID stripe tree) are refused by name.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

from vmguard.disk.btrfs.checksum import checksum_matches, checksum_name
from vmguard.disk.errors import CorruptImage, UnsupportedFormat
from vmguard.disk.source import ByteSource
from vmguard.text import kept_text

MAGIC = b"_BHRfS_M"
SUPERBLOCK_OFFSETS = (0x10000, 0x4000000, 0x4000000000)
SUPERBLOCK_SIZE = 4096
SYS_CHUNK_ARRAY_OFFSET = 0x32B
SYS_CHUNK_ARRAY_MAX = 2048

INCOMPAT_METADATA_UUID = 0x400
_INCOMPAT_REFUSED = {
    0x80: "RAID5/6",
    0x1000: "zoned",
    0x2000: "extent-tree-v2",
    0x4000: "raid-stripe-tree",
}
_INCOMPAT_KNOWN = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x100 | 0x200 | 0x400 | 0x800
_INCOMPAT_KNOWN |= 0x10000  # simple quotas: accounting only, nothing a reader needs
_HEAD = struct.Struct("<QQ8sQQQQQQQQQIIIIIQQQQHBBB")
_DEV_ITEM = struct.Struct("<QQQIIIQQQIBB16s16s")


@dataclass(frozen=True, slots=True)
class Superblock:
    """What the reader needs from the chosen superblock copy."""

    fsid: str
    metadata_fsid: bytes
    """The fsid every tree block header must carry (metadata_uuid when that feature is on)."""
    label: str | None
    generation: int
    root: int
    chunk_root: int
    root_level: int
    chunk_root_level: int
    total_bytes: int
    bytes_used: int
    num_devices: int
    sectorsize: int
    nodesize: int
    csum_type: int
    incompat: int
    devid: int
    dev_total_bytes: int
    sys_chunk_array: bytes
    copy_offset: int
    """Where the chosen copy was read (64 KiB for the primary)."""

    @property
    def checksum(self) -> str:
        """The checksum algorithm's name."""
        return checksum_name(self.csum_type)


def _parse(raw: bytes, offset: int) -> Superblock:
    fsid = raw[0x20:0x30]
    fields = _HEAD.unpack_from(raw, 0x30)
    (bytenr, _flags, magic, generation, root, chunk_root, _log_root, _log_transid) = fields[:8]
    (total_bytes, bytes_used, _root_dir, num_devices, sectorsize, nodesize) = fields[8:14]
    (_leafsize, _stripesize, sys_array_size, _chunk_gen, _compat, _compat_ro) = fields[14:20]
    incompat, csum_type, root_level, chunk_root_level, _log_level = fields[20:]
    del magic
    if bytenr != offset:
        raise CorruptImage(f"btrfs superblock copy at {offset} says it lives at {bytenr}")
    checksum_name(csum_type)
    if sectorsize not in (4096, 8192, 16384, 32768, 65536):
        raise CorruptImage(f"btrfs superblock: invalid sector size {sectorsize}")
    if nodesize < sectorsize or nodesize > 65536 or nodesize & (nodesize - 1):
        raise CorruptImage(f"btrfs superblock: invalid node size {nodesize}")
    if sys_array_size > SYS_CHUNK_ARRAY_MAX:
        raise CorruptImage(f"btrfs superblock: system chunk array of {sys_array_size} bytes")
    if root_level >= 8 or chunk_root_level >= 8:
        raise CorruptImage("btrfs superblock: tree root level out of range")
    for bit, name in _INCOMPAT_REFUSED.items():
        if incompat & bit:
            raise UnsupportedFormat(f"btrfs feature {name} is not read by vmguard")
    if incompat & ~_INCOMPAT_KNOWN:
        raise UnsupportedFormat(f"btrfs has unknown incompatible features {incompat:#x}")
    dev = _DEV_ITEM.unpack_from(raw, 0xC9)
    metadata_fsid = raw[0x23B:0x24B] if incompat & INCOMPAT_METADATA_UUID else fsid
    array = raw[SYS_CHUNK_ARRAY_OFFSET : SYS_CHUNK_ARRAY_OFFSET + sys_array_size]
    return Superblock(
        fsid=str(uuid.UUID(bytes=bytes(fsid))),
        metadata_fsid=bytes(metadata_fsid),
        label=_label(raw),
        generation=generation,
        root=root,
        chunk_root=chunk_root,
        root_level=root_level,
        chunk_root_level=chunk_root_level,
        total_bytes=total_bytes,
        bytes_used=bytes_used,
        num_devices=num_devices,
        sectorsize=sectorsize,
        nodesize=nodesize,
        csum_type=csum_type,
        incompat=incompat,
        devid=dev[0],
        dev_total_bytes=dev[1],
        sys_chunk_array=bytes(array),
        copy_offset=offset,
    )


def read_superblock(source: ByteSource) -> Superblock:
    """The valid superblock copy with the highest generation; ``CorruptImage`` if none."""
    best: Superblock | None = None
    problem = "no btrfs superblock"
    for offset in SUPERBLOCK_OFFSETS:
        if offset + SUPERBLOCK_SIZE > source.size:
            break
        raw = source.read_at(offset, SUPERBLOCK_SIZE)
        if raw[0x40:0x48] != MAGIC:
            continue
        csum_type = int.from_bytes(raw[0xC4:0xC6], "little")
        if not checksum_matches(raw, csum_type):
            problem = f"btrfs superblock copy at {offset} fails its checksum"
            continue
        try:
            candidate = _parse(raw, offset)
        except CorruptImage as err:
            problem = err.diagnostics()
            continue
        if best is None or candidate.generation > best.generation:
            best = candidate
    if best is None:
        raise CorruptImage(problem)
    return best


def peek_identity(source: ByteSource) -> tuple[str, str | None] | None:
    """(fsid, label) of the primary superblock when its magic is there, unchecked."""
    raw = source.read_at(SUPERBLOCK_OFFSETS[0], SUPERBLOCK_SIZE)
    if len(raw) < SUPERBLOCK_SIZE or raw[0x40:0x48] != MAGIC:
        return None
    return str(uuid.UUID(bytes=bytes(raw[0x20:0x30]))), _label(raw)


def _label(raw: bytes) -> str | None:
    return kept_text(raw[0x12B:0x22B].split(b"\0", 1)[0], 256) or None
