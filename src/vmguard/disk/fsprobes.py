"""The volume signatures that take more than one magic number to tell apart, by blkid's names.

``fssignatures`` checks the plain magic numbers; the probes here also check the few fields
util-linux's libblkid checks next to them (a checksum, a version, a count of copies), so
that two bytes of garbage are not taken for minix or HFS, and a ZFS label is only named
when at least four uberblocks are there, as blkid wants.

Each probe reads at most 512 KiB through ``ByteSource.read_at`` (a ZFS label's uberblock
rings) and interprets nothing beyond the fields it checks.
"""

from __future__ import annotations

import struct

import google_crc32c

from vmguard.disk.fskind import FsKind
from vmguard.disk.source import ByteSource

_ZFS_LABEL = 256 * 1024
_ZFS_UBERBLOCKS_AT = 128 * 1024
_ZFS_MAGIC = 0x00BAB10C
_ZFS_WANT = 4
_ZFS_MIN_BYTES = 64 * 1024 * 1024


def is_zfs_member(source: ByteSource) -> bool:
    """At least four ZFS uberblocks (either byte order) in the four vdev labels, counted in
    the order blkid counts them (two labels at the start, two at the end)."""
    size = source.size
    if size < _ZFS_MIN_BYTES:
        return False
    tail = size % _ZFS_LABEL
    found = 0
    for label in (0, _ZFS_LABEL, size - 2 * _ZFS_LABEL - tail, size - _ZFS_LABEL - tail):
        ring = source.read_at(label + _ZFS_UBERBLOCKS_AT, _ZFS_LABEL - _ZFS_UBERBLOCKS_AT)
        for at in range(0, len(ring) - 7, 1024):
            magic = ring[at : at + 8]
            if int.from_bytes(magic, "little") == _ZFS_MAGIC:
                found += 1
            if int.from_bytes(magic, "big") == _ZFS_MAGIC:
                found += 1
        if found >= _ZFS_WANT:
            return True
    return False


_XLOG_MAGIC = 0xFEEDBABE
_XLOG_MIN_BYTES = 10 * 1024 * 1024


def is_xfs_external_log(source: ByteSource) -> bool:
    """An XFS log on its own device (``mkfs.xfs -l logdev=``): a valid log record header in
    one of the first 512 sectors (magic, version 1 or 2, a length, a known format)."""
    if source.size < _XLOG_MIN_BYTES:
        return False
    area = source.read_at(0, 256 * 1024)
    if area[:4] == b"XFSB":
        return False
    for at in range(0, len(area) - 319, 512):
        magic, _cycle, version, length = struct.unpack_from(">IIII", area, at)
        (fmt,) = struct.unpack_from(">I", area, at + 300)
        if (
            magic == _XLOG_MAGIC
            and version
            and not version & ~3
            and 0 < length <= 0x7FFFFFFF
            and fmt in (1, 2, 3)
        ):
            return True
    return False


_MINIX_V1 = (0x137F, 0x138F)
_MINIX_V2 = (0x2468, 0x2478)
_MINIX_V3 = 0x4D5A
_MINIX_BLOCK = 1024


def is_minix(head: bytes) -> bool:
    """A minix v1, v2 or v3 superblock at 1 KiB (either byte order) whose bitmaps can hold
    its inodes and zones, as blkid checks it (``head``: the volume's first 68 KiB)."""
    sb = head[1024:1056]
    if len(sb) < 32:
        return False
    for order in "<>":
        (magic,) = struct.unpack_from(order + "H", sb, 16)
        (magic3,) = struct.unpack_from("<H", sb, 24)
        version = 1 if magic in _MINIX_V1 else 2 if magic in _MINIX_V2 else 0
        if not version and magic3 == _MINIX_V3:
            (imaps, zmaps) = struct.unpack_from("<HH", sb, 6)
            return bool(imaps and zmaps)
        if not version:
            continue
        ninodes, nzones, imaps, zmaps, firstz = struct.unpack_from(order + "HHHHH", sb, 0)
        if version == 2:
            (nzones,) = struct.unpack_from(order + "I", sb, 20)
        if not imaps or not zmaps:
            return False
        return bool(
            imaps * _MINIX_BLOCK * 8 >= ninodes + 1
            and zmaps * _MINIX_BLOCK * 8 >= nzones - firstz + 1
        )
    return False


def hfs_kind(source: ByteSource, head: bytes) -> FsKind:
    """``hfs``, ``hfsplus`` or "" from the volume header at 1 KiB. An HFS wrapper whose
    embedded-volume signature says HFS+ is ``hfsplus`` when the embedded header is there,
    else neither (as blkid decides)."""
    sb = head[1024 : 1024 + 130]
    if len(sb) < 130:
        return FsKind.UNKNOWN
    if sb[:2] == b"BD":
        if sb[124:126] not in (b"H+", b"HX"):
            return FsKind.HFS
        (block_size,) = struct.unpack_from(">I", sb, 20)
        (first_block,) = struct.unpack_from(">H", sb, 28)
        (embed_start,) = struct.unpack_from(">H", sb, 126)
        embedded = first_block * 512 + embed_start * block_size + 1024
        found = _is_hfsplus_header(source.read_at(embedded, 44))
        return FsKind.HFSPLUS if found else FsKind.UNKNOWN
    return FsKind.HFSPLUS if _is_hfsplus_header(sb[:44]) else FsKind.UNKNOWN


def _is_hfsplus_header(raw: bytes) -> bool:
    return len(raw) >= 44 and raw[:2] in (b"H+", b"HX") and int.from_bytes(raw[40:44]) >= 512


_UFS_MAGICS = {0x00011954, 0x19540119, 0x00195612, 0x00095014, 0x00612195, 0x05231994}
_UFS_MAGIC_AT = 1372


def is_ufs(source: ByteSource) -> bool:
    """A UFS1/UFS2 superblock (any of its magic numbers, either byte order) at one of the
    places blkid looks: 0, 8, 64 or 256 KiB."""
    for kib in (0, 8, 64, 256):
        raw = source.read_at(kib * 1024 + _UFS_MAGIC_AT, 4)
        if len(raw) == 4 and (
            int.from_bytes(raw, "little") in _UFS_MAGICS
            or int.from_bytes(raw, "big") in _UFS_MAGICS
        ):
            return True
    return False


def vmfs_kind(source: ByteSource) -> FsKind:
    """``VMFS_volume_member`` (the LVM-like volume header at 1 MiB, what blkid names first
    on a datastore partition), ``VMFS`` (the filesystem header at 2 MiB) or ""."""
    if source.read_at(1024 * 1024, 4) == b"\x0d\xd0\x01\xc0":
        return FsKind.VMFS_VOLUME_MEMBER
    if source.read_at(2048 * 1024, 4) == b"\x5e\xf1\xab\x2f":
        return FsKind.VMFS
    return FsKind.UNKNOWN


_STRATIS_MAGIC = b"!Stra0tis\x86\xff\x02^\x41rh"


def is_stratis(head: bytes) -> bool:
    """A Stratis block device: either signature block copy (sector 1 or 9) with its magic and
    a matching CRC-32C over the rest of the sector."""
    for at in (512, 9 * 512):
        block = head[at : at + 512]
        if len(block) == 512 and block[4:20] == _STRATIS_MAGIC:
            (stored,) = struct.unpack_from("<I", block)
            if google_crc32c.value(block[4:]) == stored:
                return True
    return False
