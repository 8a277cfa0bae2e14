"""Filesystems and volume members vmguard names but does not read, by blkid's names.

A volume vmguard cannot read must say what it is (``blkid -p`` TYPE: swap, squashfs,
iso9660, udf, f2fs, erofs, jfs, nilfs2, reiserfs, exfat, bcache, LVM2_member, zfs_member,
minix, hfsplus, ...), so the inventory and the errors tell "a squashfs we skip" from
"garbage", and never let a reader take it for something else. Magic numbers and offsets
are those the util-linux probes use; the probes that check more than a magic number are in
``fsprobes``.

This module reads at most the first 68 KiB of a volume, an MD RAID superblock near its
end and what ``fsprobes`` reads, and never interprets more than a magic number and a few
fields next to it.
"""

from __future__ import annotations

import struct

from vmguard.disk.fskind import FsKind
from vmguard.disk.fsprobes import (
    hfs_kind,
    is_minix,
    is_stratis,
    is_ufs,
    is_xfs_external_log,
    is_zfs_member,
    vmfs_kind,
)
from vmguard.disk.fsprobes_recent import bcache_kind
from vmguard.disk.source import ByteSource

# (byte offset, magic, blkid TYPE). Checked in order, after ext2/3/4, XFS, NTFS, FAT,
# BitLocker and LUKS (the formats vmguard reads or unlocks).
_MAGICS: tuple[tuple[int, bytes, FsKind], ...] = (
    (3, b"EXFAT   ", FsKind.EXFAT),
    (1024, b"\x10\x20\xf5\xf2", FsKind.F2FS),
    (1024, b"\xe2\xe1\xf5\xe0", FsKind.EROFS),
    (0, b"sqsh", FsKind.SQUASHFS3),  # big-endian: only squashfs 3 and older
    (0, b"\x45\x3d\xcd\x28", FsKind.CRAMFS),
    (0, b"\x28\xcd\x3d\x45", FsKind.CRAMFS),
    (0, b"LUKS\xba\xbe", FsKind.CRYPTO_LUKS),
    (32768, b"JFS1", FsKind.JFS),
    (65536 + 52, b"ReIsErFs", FsKind.REISERFS),
    (65536 + 52, b"ReIsEr2Fs", FsKind.REISERFS),
    (65536 + 52, b"ReIsEr3Fs", FsKind.REISERFS),
    (8192 + 52, b"ReIsErFs", FsKind.REISERFS),
    (65536, b"ReIsEr4", FsKind.REISER4),
    (0, b"-rom1fs-", FsKind.ROMFS),
    (0, b"\xce\xfa\xad\x1b", FsKind.BFS),
    (0, b"verity\x00\x00\x01\x00\x00\x00", FsKind.DM_VERITY_HASH),
    (0, b"dmvdo001", FsKind.VDO),
    (0, b"\0\0\0ReFS\0", FsKind.REFS),
    (0, b"integrt\0", FsKind.DM_INTEGRITY),
    (0, b"HM\x01\x00", FsKind.LVM1_MEMBER),
    (0, b"bluestore block device\n", FsKind.CEPH_BLUESTORE),
    (1024, b"OCFSV2", FsKind.OCFS2),
    (2048, b"OCFSV2", FsKind.OCFS2),
    (4096, b"OCFSV2", FsKind.OCFS2),
    (8192, b"OCFSV2", FsKind.OCFS2),
)
_SWAP_PAGE_SIZES = (4096, 8192, 16384, 32768, 65536)
_SWSUSPEND = (b"S1SUSPEND", b"S2SUSPEND", b"ULSUSPEND")
"""What the kernel (and uswsusp) writes over a swap signature while a hibernation image is
stored there."""
_NOTES = {
    FsKind.JBD: "an ext3/ext4 external journal: it holds no files",
    FsKind.SWAP: "swap space",
    FsKind.LVM2_MEMBER: "an LVM physical volume that is in no readable volume group",
    FsKind.BCACHE: "a bcache device: its data is only readable through the bcache layer",
    FsKind.ZFS_MEMBER: "a ZFS pool member: ZFS is not read",
    FsKind.XFS_EXTERNAL_LOG: "an XFS external log device: it holds no files",
    FsKind.SWSUSPEND: "swap space holding a hibernated system's memory",
    FsKind.STRATIS: "a Stratis pool member: pools are not assembled",
    FsKind.VDO: "a VDO deduplicated volume: its data is only readable through VDO",
    FsKind.VMFS_VOLUME_MEMBER: "a VMware VMFS datastore: the virtual disks in it are not read",
    FsKind.VMFS: "a VMware VMFS datastore: the virtual disks in it are not read",
    FsKind.REFS: "Windows ReFS is not read",
    FsKind.LINUX_RAID_MEMBER: "a Linux MD RAID member: arrays are not assembled",
    FsKind.DRBD: "a DRBD replicated device: its data is only readable through DRBD",
    FsKind.DM_SNAPSHOT_COW: "a device-mapper snapshot's exception store: it holds no files",
    FsKind.ORACLEASM: "an Oracle ASM disk: it holds database storage, not files",
    FsKind.CS_FVAULT2: "an Apple Core Storage volume encrypted with FileVault 2",
} | {
    kind: "a firmware RAID member: arrays are not assembled, partitions not read"
    for kind in FsKind
    if kind.endswith("_raid_member") and kind != FsKind.LINUX_RAID_MEMBER
}


def _gfs_kind(head: bytes) -> FsKind:
    """GFS or GFS2: the superblock at 64 KiB (metadata magic, type 1, the format pair)."""
    sb = head[65536 : 65536 + 32]
    if len(sb) < 32 or struct.unpack_from(">II", sb) != (0x01161970, 1):
        return FsKind.UNKNOWN
    fs_format, multihost = struct.unpack_from(">II", sb, 24)
    if (fs_format, multihost) == (1309, 1401):
        return FsKind.GFS
    # 1801 first, 1802 since gfs2-utils 3.4 (the rgrp and journal-header extensions)
    return FsKind.GFS2 if 1801 <= fs_format < 1900 and multihost == 1900 else FsKind.UNKNOWN


def describe_kind(kind: FsKind) -> str:
    """How errors name an unread volume: its blkid TYPE, and what it is when that helps."""
    note = _NOTES.get(kind)
    return f"{kind} ({note})" if note else kind


def _udf_or_iso(source: ByteSource) -> FsKind:
    """UDF's volume recognition sequence or an ISO 9660 descriptor from 32 KiB on."""
    kinds = set()
    for n in range(16):
        tag = source.read_at(32768 + 2048 * n + 1, 5)
        if tag in (b"NSR02", b"NSR03"):
            return FsKind.UDF
        if tag in (b"CD001", b"BEA01", b"TEA01", b"BOOT2", b"CDW02"):
            kinds.add(tag)
            continue
        break
    return FsKind.ISO9660 if b"CD001" in kinds else FsKind.UNKNOWN


def _nilfs2(head: bytes) -> bool:
    if head[1030:1032] != b"\x34\x34":
        return False
    revision, _minor, _magic, sb_bytes = struct.unpack_from("<IHHH", head, 1024)
    return bool(revision == 2 and 256 <= sb_bytes <= 1024)


def _lvm2_member(head: bytes) -> bool:
    return any(
        head[s * 512 : s * 512 + 8] == b"LABELONE"
        and head[s * 512 + 24 : s * 512 + 32] == b"LVM2 001"
        for s in range(4)
    )


_MD_MAGIC = 0xA92B4EFC
_MD_MAX_DEVICES = 1920
"""md's own bound on the dev_roles array of a 1.x superblock."""


def _md_1x_at(source: ByteSource, offset: int) -> bool:
    """A valid md 1.x superblock (magic, version, own offset, checksum) at ``offset``."""
    sb = source.read_at(offset, 256)
    if len(sb) < 256 or struct.unpack_from("<II", sb) != (_MD_MAGIC, 1):
        return False
    (super_offset,) = struct.unpack_from("<Q", sb, 144)
    (max_dev,) = struct.unpack_from("<I", sb, 220)
    if super_offset * 512 != offset or max_dev > _MD_MAX_DEVICES:
        return False
    whole = bytearray(source.read_at(offset, 256 + 2 * max_dev))
    (stored,) = struct.unpack_from("<I", whole, 216)
    whole[216:220] = bytes(4)
    total = sum(struct.unpack_from(f"<{len(whole) // 4}I", whole))
    if len(whole) % 4:
        total += struct.unpack_from("<H", whole, len(whole) - 2)[0]
    folded = ((total & 0xFFFFFFFF) + (total >> 32)) & 0xFFFFFFFF
    return bool(folded == stored)


def is_md_raid_member(source: ByteSource) -> bool:
    """True for a Linux MD RAID member (metadata 0.90, 1.0, 1.1 or 1.2), as blkid finds
    one: checked before any filesystem, since a 0.90/1.0 member of a RAID1 also shows the
    array's filesystem at offset 0 but a member of a striped array only shows part of it."""
    size = source.size
    end_1x = ((size // 512 - 16) & ~7) * 512
    if any(_md_1x_at(source, at) for at in (0, 4096, end_1x) if 0 <= at < size):
        return True
    at = (size & ~0xFFFF) - 0x10000
    if at < 0:
        return False
    head = source.read_at(at, 12)
    return len(head) == 12 and struct.unpack_from("<III", head) in {(_MD_MAGIC, 0, 90)}


def other_filesystem_kind(source: ByteSource, head: bytes) -> FsKind:
    """The blkid TYPE of a volume that holds none of the filesystems vmguard reads, or ""
    (``head`` is the volume's first 68 KiB)."""
    for offset, magic, kind in _MAGICS:
        if head[offset : offset + len(magic)] == magic:
            return kind
    bcache = bcache_kind(source, head)
    if bcache:
        return bcache
    if head[:4] == b"hsqs":  # little-endian: version 4 is squashfs, older squashfs3
        return FsKind.SQUASHFS if int.from_bytes(head[28:30], "little") >= 4 else FsKind.SQUASHFS3
    if head[:4] == b"\x31\x18\x10\x06" and head[20] == 6:  # the first node is the superblock
        return FsKind.UBIFS
    if head[:4] == b"UBI#":
        return FsKind.UBI
    gfs = _gfs_kind(head)
    if gfs:
        return gfs
    if head[32:36] == b"NXSB" and int.from_bytes(head[24:26], "little") == 1:
        return FsKind.APFS
    if is_stratis(head):
        return FsKind.STRATIS
    if is_minix(head):
        return FsKind.MINIX
    hfs = hfs_kind(source, head)
    if hfs:
        return hfs
    if is_ufs(source):
        return FsKind.UFS
    vmfs = vmfs_kind(source)
    if vmfs:
        return vmfs
    if is_xfs_external_log(source):
        return FsKind.XFS_EXTERNAL_LOG
    if is_zfs_member(source):
        return FsKind.ZFS_MEMBER
    if _nilfs2(head):
        return FsKind.NILFS2
    if _lvm2_member(head):
        return FsKind.LVM2_MEMBER
    for page in _SWAP_PAGE_SIZES:
        if head[page - 10 : page] in (b"SWAPSPACE2", b"SWAP-SPACE"):
            return FsKind.SWAP
        if head[page - 10 : page - 1] in _SWSUSPEND or head[page - 10 : page] == b"LINHIB0001":
            return FsKind.SWSUSPEND
    return _udf_or_iso(source)
