"""CRC-32C (Castagnoli), as VHDX uses it for headers, region tables and log entries.

Pure Python and table driven: only a few hundred KiB of metadata are ever checksummed, so
speed does not matter. It must never be used on guest data.
"""

from __future__ import annotations


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()


def crc32c(data: bytes, crc: int = 0) -> int:
    """Return the CRC-32C of ``data``, continuing from ``crc`` (0 to start)."""
    table = _TABLE
    crc ^= 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF
