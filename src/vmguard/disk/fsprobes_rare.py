"""Rarely met volume signatures, named by blkid's TYPE so that no volume goes unnamed.

Filesystems of other systems (OS/2 HPFS, System V and Xenix, Veritas VxFS, BeOS/Haiku BFS,
NetWare NSS), of clusters and databases (Oracle OCFS and ASM, DRBD proxy logs and
drbdmanage control volumes, Micron mpool), zoned-device zonefs, HPE's exfs, and device-mapper
snapshot exception stores. Each check is the one util-linux's libblkid makes (magic number,
offsets, minimum size, and the checksum or sanity fields it verifies next to the magic), so
a volume is named as ``blkid -p`` names it.

These signatures are weak (some are three or four bytes at a fixed place), so they are
looked for only after every filesystem vmguard reads and every stronger signature has been
ruled out. This module reads the volume's first 68 KiB (given by the caller), and BFS's
probe (``fsprobes_befs``) a few places more; nothing beyond the fields it checks is read.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

import google_crc32c

from vmguard.disk.fskind import FsKind
from vmguard.disk.fsprobes_befs import is_befs
from vmguard.disk.source import ByteSource


def _is_drbdmanage_control(source: ByteSource, head: bytes) -> bool:
    """``$DRBDmgr=q``, then a 32-hex-digit id and a newline (64 KiB or more)."""
    if source.size < 64 * 1024 or head[:10] != b"$DRBDmgr=q":
        return False
    digits = head[11:43]
    return head[43:44] == b"\n" and all(c in b"0123456789abcdefABCDEF" for c in digits)


def _is_drbdproxy_datalog(source: ByteSource, head: bytes) -> bool:
    return source.size >= 16 * 1024 and head[:8] == b"DRBDdlh*"


_EXFS_SB = struct.Struct(">4sIQQQ16sQQQQIIIIIHHHH12sBBBBBBBB")


def _is_exfs(source: ByteSource, head: bytes) -> bool:
    """An ``EXFS`` superblock whose geometry holds as an XFS one must (blkid's checks)."""
    if head[:4] != b"EXFS" or len(head) < _EXFS_SB.size:
        return False
    fields = _EXFS_SB.unpack_from(head)
    block_size, dblocks = fields[1], fields[2]
    rextsize, agblocks, agcount = fields[10], fields[11], fields[12]
    sect_size, inode_size = fields[16], fields[17]
    block_log, sect_log, inode_log, inop_log, imax_pct = (*fields[20:24], fields[27])
    return bool(
        agcount > 0
        and 9 <= sect_log <= 15
        and sect_size == 1 << sect_log
        and 9 <= block_log <= 16
        and block_size == 1 << block_log
        and 8 <= inode_log <= 11
        and inode_size == 1 << inode_log
        and block_log - inode_log == inop_log
        and 4096 <= rextsize * block_size <= 1 << 30
        and imax_pct <= 100
        and 0 < dblocks <= agcount * agblocks
        and dblocks >= (agcount - 1) * agblocks + 64
    )


def _is_hpfs(source: ByteSource, head: bytes) -> bool:
    """The HPFS superblock at 8 KiB and its spare block right after it."""
    return head[0x2000:0x2004] == b"\x49\xe8\x95\xf9" and head[0x2200:0x2204] == b"\x49\x18\x91\xf9"


_SYSV_MAGIC = 0xFD187E20
_SYSV_MAGIC_AT = tuple(block * 1024 + 512 + 504 for block in (0, 9, 15, 18))
"""The superblock is 512 bytes into block 0, 9, 15 or 18 (1 KiB blocks); its magic at 504."""


def _is_sysv(source: ByteSource, head: bytes) -> bool:
    for at in _SYSV_MAGIC_AT:
        raw = head[at : at + 4]
        if len(raw) == 4 and _SYSV_MAGIC in (
            int.from_bytes(raw, "little"),
            int.from_bytes(raw, "big"),
        ):
            return True
    return False


def _is_ocfs(source: ByteSource, head: bytes) -> bool:
    """Oracle Cluster File System version 1 (blkid wants at least 14000 KiB)."""
    return source.size >= 14000 * 1024 and head[8192:8201] == b"OracleCFS"


def _is_mpool(source: ByteSource, head: bytes) -> bool:
    """``mpoolDev`` and a CRC-32C of the descriptor before it."""
    if head[:8] != b"mpoolDev" or len(head) < 66:
        return False
    return bool(google_crc32c.value(head[:62]) == int.from_bytes(head[62:66], "little"))


def _is_zonefs(source: ByteSource, head: bytes) -> bool:
    """``SFOZ`` and the superblock's CRC-32 (seed ~0, no final inversion, computed with the
    CRC field zeroed), as newer libblkid checks it (2.38 checks the magic only)."""
    if head[:4] != b"SFOZ" or len(head) < 4096:
        return False
    block = head[:4] + bytes(4) + head[8:4096]
    return (zlib.crc32(block) ^ 0xFFFFFFFF) == int.from_bytes(head[4:8], "little")


def _magic(offset: int, *magics: bytes) -> Callable[[ByteSource, bytes], bool]:
    """A check that is only a magic number (one of ``magics``) at ``offset``."""

    def matches(source: ByteSource, head: bytes) -> bool:
        return any(head[offset : offset + len(magic)] == magic for magic in magics)

    return matches


_RARE: tuple[tuple[Callable[[ByteSource, bytes], bool], FsKind], ...] = (
    (_is_drbdmanage_control, FsKind.DRBDMANAGE_CONTROL_VOLUME),
    (_is_drbdproxy_datalog, FsKind.DRBDPROXY_DATALOG),
    (_magic(0, b"SnAp"), FsKind.DM_SNAPSHOT_COW),  # an LVM snapshot's -cow device
    (_is_exfs, FsKind.EXFS),
    (_is_hpfs, FsKind.HPFS),
    (_is_sysv, FsKind.SYSV),
    (_magic(2048, b"\x2b\x55\x44", b"\x44\x55\x2b"), FsKind.XENIX),
    (_is_ocfs, FsKind.OCFS),
    (_magic(32, b"ORCLDISK"), FsKind.ORACLEASM),
    (_magic(1024, b"\xf5\xfc\x01\xa5"), FsKind.VXFS),  # little-endian, then big
    (_magic(8192, b"\xa5\x01\xfc\xf5"), FsKind.VXFS),
    (_magic(4096, b"SPB5"), FsKind.NSS),
    (is_befs, FsKind.BEFS),
    (_is_mpool, FsKind.MPOOL),
    (_is_zonefs, FsKind.ZONEFS),
)
"""In libblkid's probing order."""


def rare_volume_kind(source: ByteSource, head: bytes) -> FsKind:
    """The blkid TYPE of one of the rarely met signatures above, or "" (``head``: the
    volume's first 68 KiB)."""
    for matches, kind in _RARE:
        if matches(source, head):
            return kind
    return FsKind.UNKNOWN
