"""BitLocker detection: an encrypted Windows volume is named, with its UUID, and left closed.

Windows writes a volume boot record that looks like FAT32 (Windows 7 and later) or NTFS
(Vista) over an encrypted volume; read as FAT it fails with an invalid cluster count, which
would hide that the volume is encrypted. The recognised records are blkid's: the boot entry
point and signature "-FVE-FS-" at offset 3 (Vista, Windows 7+), or "MSWIN4.1" at offset 3
with a FVE metadata offset at 440 (BitLocker To Go on removable FAT volumes). For Windows 7+
and To Go, the FVE metadata block the boot record points to must start with "-FVE-FS-".

This module must never read key protectors or attempt to decrypt anything.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

from vmguard.disk.source import ByteSource

FVE_SIGNATURE = b"-FVE-FS-"
_VISTA = b"\xeb\x52\x90" + FVE_SIGNATURE
_WIN7 = b"\xeb\x58\x90" + FVE_SIGNATURE
_TO_GO = b"\xeb\x58\x90MSWIN4.1"
_WIN7_METADATA_AT = 176
_TO_GO_METADATA_AT = 440
_BLOCK_HEADER = 64
"""FVE metadata block header; the metadata header (size, version, volume GUID) follows."""
_VOLUME_ID_AT = _BLOCK_HEADER + 16


@dataclass(frozen=True, slots=True)
class BitLockerHeader:
    """What vmguard knows about a BitLocker volume without a key."""

    variant: str
    """"vista", "win7" (Windows 7 and later) or "to-go"."""
    uuid: str | None
    """The FVE volume identifier (what blkid reports as UUID), when the metadata is there."""
    fve_version: int | None = None
    """The FVE metadata block version (1 for Vista, 2 for Windows 7 and later)."""

    @property
    def encryption(self) -> str:
        """The value of ``Volume.encryption``."""
        return "bitlocker"


def looks_like_bitlocker(head: bytes) -> bool:
    """True when the first 11 bytes are one of the BitLocker boot records (no metadata read)."""
    return head[:11] in (_VISTA, _WIN7, _TO_GO)


def probe_bitlocker(source: ByteSource) -> BitLockerHeader | None:
    """The BitLocker header at the start of ``source``, or None."""
    head = source.read_at(0, 512)
    if len(head) < 512 or not looks_like_bitlocker(head):
        return None
    if head[:11] == _VISTA:
        return BitLockerHeader("vista", None)
    variant, field = (
        ("win7", _WIN7_METADATA_AT) if head[:11] == _WIN7 else ("to-go", _TO_GO_METADATA_AT)
    )
    (offset,) = struct.unpack_from("<Q", head, field)
    if offset == 0 or offset % 64 or offset >= source.size:
        return None
    block = source.read_at(offset, _VOLUME_ID_AT + 16)
    if len(block) < _VOLUME_ID_AT + 16 or block[:8] != FVE_SIGNATURE:
        # The FAT/NTFS-like boot record is all there is: a To Go signature without metadata
        # is an ordinary FAT volume that Windows 98's formatter ("MSWIN4.1") wrote.
        return None
    (version,) = struct.unpack_from("<H", block, 10)
    volume_id = uuid.UUID(bytes_le=bytes(block[_VOLUME_ID_AT : _VOLUME_ID_AT + 16]))
    return BitLockerHeader(variant, str(volume_id), version)
