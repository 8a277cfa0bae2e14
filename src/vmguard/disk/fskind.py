"""What a volume holds, by the names blkid gives (``blkid -p`` TYPE).

Reports and errors show these values unchanged (a ``StrEnum`` member is its string), so the
JSON output is the same as when they were bare strings. This module only names kinds; the
superblock checks that find them are in ``filesystems`` and ``fssignatures``.
"""

from __future__ import annotations

from enum import StrEnum


class FsKind(StrEnum):
    """A volume's content: a filesystem vmguard reads, one it only names, or unknown."""

    UNKNOWN = ""
    EXT2 = "ext2"
    EXT3 = "ext3"
    EXT4 = "ext4"
    XFS = "xfs"
    VFAT = "vfat"
    NTFS = "ntfs"
    BTRFS = "btrfs"
    JBD = "jbd"
    """An ext3/ext4 external journal."""
    SWAP = "swap"
    LINUX_RAID_MEMBER = "linux_raid_member"
    LVM2_MEMBER = "LVM2_member"
    BITLOCKER = "BitLocker"
    CRYPTO_LUKS = "crypto_LUKS"
    EXFAT = "exfat"
    F2FS = "f2fs"
    EROFS = "erofs"
    SQUASHFS = "squashfs"
    CRAMFS = "cramfs"
    BCACHE = "bcache"
    JFS = "jfs"
    REISERFS = "reiserfs"
    ZFS_MEMBER = "zfs_member"
    NILFS2 = "nilfs2"
    UDF = "udf"
    ISO9660 = "iso9660"
    APFS = "apfs"
    BFS = "bfs"
    CEPH_BLUESTORE = "ceph_bluestore"
    DM_INTEGRITY = "DM_integrity"
    DM_VERITY_HASH = "DM_verity_hash"
    GFS = "gfs"
    GFS2 = "gfs2"
    HFS = "hfs"
    HFSPLUS = "hfsplus"
    LVM1_MEMBER = "LVM1_member"
    MINIX = "minix"
    OCFS2 = "ocfs2"
    REFS = "ReFS"
    REISER4 = "reiser4"
    ROMFS = "romfs"
    SQUASHFS3 = "squashfs3"
    STRATIS = "stratis"
    SWSUSPEND = "swsuspend"
    UBI = "ubi"
    UBIFS = "ubifs"
    UFS = "ufs"
    VDO = "vdo"
    VMFS = "VMFS"
    VMFS_VOLUME_MEMBER = "VMFS_volume_member"
    XFS_EXTERNAL_LOG = "xfs_external_log"
    EXT4DEV = "ext4dev"
    """An ext4 marked for in-development kernel code (``test_fs``): read as ext4."""
    EXFS = "exfs"
    HPFS = "hpfs"
    SYSV = "sysv"
    XENIX = "xenix"
    VXFS = "vxfs"
    BEFS = "befs"
    NSS = "nss"
    """Novell NetWare Storage Services."""
    OCFS = "ocfs"
    ORACLEASM = "oracleasm"
    ZONEFS = "zonefs"
    MPOOL = "mpool"
    DRBD = "drbd"
    DRBDPROXY_DATALOG = "drbdproxy_datalog"
    DRBDMANAGE_CONTROL_VOLUME = "drbdmanage_control_volume"
    DM_SNAPSHOT_COW = "DM_snapshot_cow"
    DDF_RAID_MEMBER = "ddf_raid_member"
    ISW_RAID_MEMBER = "isw_raid_member"
    LSI_MEGA_RAID_MEMBER = "lsi_mega_raid_member"
    VIA_RAID_MEMBER = "via_raid_member"
    SILICON_MEDLEY_RAID_MEMBER = "silicon_medley_raid_member"
    NVIDIA_RAID_MEMBER = "nvidia_raid_member"
    PROMISE_FASTTRACK_RAID_MEMBER = "promise_fasttrack_raid_member"
    HPT45X_RAID_MEMBER = "hpt45x_raid_member"
    HPT37X_RAID_MEMBER = "hpt37x_raid_member"
    ADAPTEC_RAID_MEMBER = "adaptec_raid_member"
    JMICRON_RAID_MEMBER = "jmicron_raid_member"
    BCACHEFS = "bcachefs"
    CS_FVAULT2 = "cs_fvault2"
    """An Apple Core Storage physical volume encrypted with FileVault 2."""
    SCOUTFS_META = "scoutfs_meta"
    SCOUTFS_DATA = "scoutfs_data"
    OPENSVC_HB = "opensvc_hb"


READABLE_KINDS = (
    FsKind.EXT2,
    FsKind.EXT3,
    FsKind.EXT4,
    FsKind.EXT4DEV,
    FsKind.XFS,
    FsKind.VFAT,
    FsKind.NTFS,
    FsKind.BTRFS,
)
"""The filesystems vmguard reads."""
EXT_KINDS = frozenset({FsKind.EXT2, FsKind.EXT3, FsKind.EXT4, FsKind.EXT4DEV})
