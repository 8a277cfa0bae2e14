"""LUKS1/LUKS2 detection: an encrypted volume is reported, with its UUID, and left closed.

Only the magic, the version and the UUID are read. A LUKS2 volume whose primary header was
wiped is still recognised by a secondary header ("SKUL\\xba\\xbe") at one of the offsets
cryptsetup allows.

This module must never derive a key, read key-slot or PBKDF parameters (an image can ask
for 2^32 iterations), or attempt to open the volume.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from vmguard.disk.source import ByteSource

MAGIC = b"LUKS\xba\xbe"
SECONDARY_MAGIC = b"SKUL\xba\xbe"
SECONDARY_OFFSETS = tuple(0x4000 << i for i in range(9))
"""Where cryptsetup looks for a LUKS2 secondary header: 16 KiB .. 4 MiB."""
_UUID_OFFSET = 168
_UUID_BYTES = 40
_HDR_OFFSET_FIELD = 256
"""LUKS2 binary header: u64 offset of this header copy, after magic..subsystem."""
_UUID_TEXT = re.compile(rb"[0-9A-Fa-f-]{1,40}")


@dataclass(frozen=True, slots=True)
class LuksHeader:
    """What vmguard knows about an encrypted volume without a key."""

    version: int
    """1 or 2."""
    uuid: str | None
    """The LUKS UUID (what crypttab's UUID= names), None if the field is not a UUID."""
    problem: str | None = None
    """Something odd about the header (a wiped primary, an unreadable UUID)."""

    @property
    def encryption(self) -> str:
        """ "luks1" or "luks2", the value of ``Volume.encryption``."""
        return f"luks{self.version}"


def probe_luks(source: ByteSource) -> LuksHeader | None:
    """The LUKS header at the start of ``source``, or a LUKS2 secondary header; else None."""
    head = source.read_at(0, _UUID_OFFSET + _UUID_BYTES)
    if head[:6] == MAGIC and len(head) == _UUID_OFFSET + _UUID_BYTES:
        version = struct.unpack_from(">H", head, 6)[0]
        if version in (1, 2):
            return _header(version, head, None)
        return None
    for offset in SECONDARY_OFFSETS:
        if offset >= source.size:
            break
        copy = source.read_at(offset, _HDR_OFFSET_FIELD + 8)
        if len(copy) < _HDR_OFFSET_FIELD + 8 or copy[:6] != SECONDARY_MAGIC:
            continue
        (version,) = struct.unpack_from(">H", copy, 6)
        (own_offset,) = struct.unpack_from(">Q", copy, _HDR_OFFSET_FIELD)
        if version == 2 and own_offset == offset:
            return _header(
                2, copy, f"primary LUKS2 header missing; secondary header found at {offset}"
            )
    return None


def _header(version: int, raw: bytes, problem: str | None) -> LuksHeader:
    text = raw[_UUID_OFFSET : _UUID_OFFSET + _UUID_BYTES].split(b"\0", 1)[0]
    if _UUID_TEXT.fullmatch(text):
        return LuksHeader(version, text.decode("ascii").lower(), problem)
    note = "LUKS UUID field is not a UUID"
    return LuksHeader(version, None, f"{problem}; {note}" if problem else note)
