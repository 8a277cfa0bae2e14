"""Filesystems on a volume: detection by superblock, reading through libyal.

ext2/3/4, XFS, FAT and NTFS are read by the libyal libraries (C, LGPL) from a file object
over the volume's ``ByteSource``, btrfs by vmguard's own reader (``disk.btrfs``): nothing is
mounted and no host kernel driver sees the bytes. Other filesystems are detected so they can
be reported as unsupported, by volume, instead of silently missing.
"""

from __future__ import annotations

import stat as st
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyfsext
import pyfsfat
import pyfsntfs
import pyfsxfs

from vmguard.disk.btrfs.superblock import peek_identity
from vmguard.disk.errors import CorruptImage
from vmguard.disk.extfeatures import refuse_oversized, with_readable_features
from vmguard.disk.fskind import EXT_KINDS, READABLE_KINDS, FsKind
from vmguard.disk.fsprobes_rare import rare_volume_kind
from vmguard.disk.fsprobes_recent import recent_volume_kind
from vmguard.disk.fssignatures import is_md_raid_member, other_filesystem_kind
from vmguard.disk.raidmembers import firmware_raid_kind, is_drbd
from vmguard.disk.source import ByteSource, SourceFile
from vmguard.disk.volumes.bitlocker import looks_like_bitlocker, probe_bitlocker
from vmguard.guest.view import GuestStat
from vmguard.text import kept_text
from vmguard.text import one_line as text_one_line

SUPPORTED = READABLE_KINDS

_FILETIME_EPOCH = 11_644_473_600  # seconds from 1601-01-01 to 1970-01-01

_NTFS_ROOT_ENTRY = 5
_NTFS_FIRST_USER_ENTRY = 16
"""MFT entries 0-15 are NTFS's own metadata files ($MFT, $LogFile, $Bitmap, $Secure, $Extend
and its $UsnJrnl/$ObjId/$Quota...). Their content is filesystem structure — resident data of
small files lives in $MFT — so they are not guest files: a token in a small file would
otherwise be reported twice, at its path and at /$MFT. Free space (``--deleted``) is where
remnants are looked for."""


@dataclass(frozen=True, slots=True)
class FsSignature:
    """What a volume's first bytes say it holds."""

    kind: FsKind
    """ext2, ext3, ext4, xfs, vfat, ntfs, swap, btrfs, ..., or UNKNOWN ("")."""
    uuid: str | None = None
    label: str | None = None


def _clean_label(raw: bytes) -> str | None:
    return kept_text(raw.split(b"\x00", 1)[0], len(raw)) or None


def _ext_kind(sb: bytes) -> FsKind:
    compat = int.from_bytes(sb[92:96], "little")
    incompat = int.from_bytes(sb[96:100], "little")
    ro_compat = int.from_bytes(sb[100:104], "little")
    if incompat & 0x8:  # journal_dev: an external journal, no files (blkid: jbd)
        return FsKind.JBD
    if int.from_bytes(sb[352:356], "little") & 0x4:  # s_flags test_filesys
        return FsKind.EXT4DEV
    # blkid's rule: any feature ext3 lacks (all but filetype, recover, meta_bg and
    # sparse_super, large_file, btree_dir) makes it ext4
    if incompat & ~(0x2 | 0x4 | 0x10) or ro_compat & ~(0x1 | 0x2 | 0x4):
        return FsKind.EXT4
    return FsKind.EXT3 if compat & 0x4 else FsKind.EXT2


def detect_filesystem(source: ByteSource, *, whole_disk: bool = False) -> FsSignature:
    """Identify the filesystem on a volume from its superblock (reads at most 68 KiB, and a
    few sectors near the end). ``whole_disk``: the volume is a disk with no partition table,
    where blkid also looks for firmware RAID metadata."""
    head = source.read_at(0, 68 * 1024)
    if len(head) < 2048:
        return FsSignature(FsKind.UNKNOWN)
    if is_md_raid_member(source):
        return FsSignature(FsKind.LINUX_RAID_MEMBER)
    firmware_raid = firmware_raid_kind(source) if whole_disk else FsKind.UNKNOWN
    if firmware_raid:
        return FsSignature(firmware_raid)
    if is_drbd(source):  # its metadata is at the end; the replicated filesystem at 0
        return FsSignature(FsKind.DRBD)
    sb = head[1024:2048]
    if sb[56:58] == b"\x53\xef":
        return FsSignature(
            _ext_kind(sb), str(uuid.UUID(bytes=bytes(sb[104:120]))), _clean_label(sb[120:136])
        )
    if head[:4] == b"XFSB":
        return FsSignature(
            FsKind.XFS, str(uuid.UUID(bytes=bytes(head[32:48]))), _clean_label(head[108:120])
        )
    if looks_like_bitlocker(head) and probe_bitlocker(source):  # also looks like FAT32 or NTFS
        return FsSignature(FsKind.BITLOCKER)
    if head[3:11] == b"NTFS    ":
        serial = int.from_bytes(head[0x48:0x50], "little")
        return FsSignature(FsKind.NTFS, f"{serial:016X}")
    if head[510:512] == b"\x55\xaa" and (head[54:59] == b"FAT12" or head[54:59] == b"FAT16"):
        serial = int.from_bytes(head[39:43], "little")
        return FsSignature(
            FsKind.VFAT, f"{serial >> 16:04X}-{serial & 0xFFFF:04X}", _fat_label(head[43:54])
        )
    if head[510:512] == b"\x55\xaa" and head[82:87] == b"FAT32":
        serial = int.from_bytes(head[67:71], "little")
        return FsSignature(
            FsKind.VFAT, f"{serial >> 16:04X}-{serial & 0xFFFF:04X}", _fat_label(head[71:82])
        )
    other = other_filesystem_kind(source, head)
    if other:
        return FsSignature(other)
    if source.read_at(0x10040, 8) == b"_BHRfS_M":
        fsid, label = peek_identity(source) or (None, None)
        return FsSignature(FsKind.BTRFS, fsid, label)
    return FsSignature(recent_volume_kind(source, head) or rare_volume_kind(source, head))


def _fat_label(raw: bytes) -> str | None:
    label = _clean_label(raw)
    return None if label in (None, "NO NAME") else label


class Filesystem:
    """One opened filesystem. Nodes are the libyal file entries; this class hides their API."""

    read_chunk = 4 * 1024 * 1024
    """The most ``read`` is asked for at once: a libyal reader may stop short of the size an
    inode claims, so a large file is read piece by piece until a piece comes back empty."""

    def __init__(self, kind: FsKind, source: ByteSource, signature: FsSignature) -> None:
        self.kind = kind
        self.uuid = signature.uuid
        self.label = signature.label
        if kind in EXT_KINDS:
            refuse_oversized(source)
            source = with_readable_features(source)
        self._file = SourceFile(source)
        readers = {FsKind.XFS: pyfsxfs, FsKind.VFAT: pyfsfat, FsKind.NTFS: pyfsntfs}
        module: Any = readers.get(kind, pyfsext)
        self.volume: Any = module.volume()
        """The libyal volume object (for structures only some readers need, like $Bitmap)."""
        try:
            self.volume.open_file_object(self._file)
            self.root: Any = self.volume.get_root_directory()
            if self.root is None:  # libfsext returns None for a root inode it cannot read
                raise ValueError("no readable root directory")
        except (OSError, MemoryError, ValueError) as err:
            raise CorruptImage(f"{kind} filesystem cannot be opened: {one_line(err)}") from err
        if kind == FsKind.NTFS:
            try:
                self.label = self.volume.get_name() or None
            except OSError:
                self.label = None

    def children(self, node: Any) -> dict[str, Any]:
        """Entries of a directory node, by name."""
        try:
            entries = dict(_named_entries(node))
            if self.kind == FsKind.NTFS and _mft_index(node) == _NTFS_ROOT_ENTRY:
                return {
                    name: entry
                    for name, entry in entries.items()
                    if not (name.startswith("$") and _mft_index(entry) < _NTFS_FIRST_USER_ENTRY)
                }
            return entries
        except (OSError, MemoryError, ValueError) as err:
            raise CorruptImage(f"{self.kind}: cannot list a directory: {one_line(err)}") from err

    def stat(self, node: Any) -> GuestStat:
        """Metadata of a node, in POSIX terms even for FAT and NTFS."""
        try:
            return self._stat(node)
        except (OSError, MemoryError, ValueError) as err:
            raise CorruptImage(f"{self.kind}: cannot stat a file: {one_line(err)}") from err

    def _stat(self, node: Any) -> GuestStat:
        kind = self.kind
        if kind in (FsKind.VFAT, FsKind.NTFS):
            attrs = node.file_attribute_flags or 0
            if kind == FsKind.NTFS:
                is_dir = node.has_directory_entries_index()
                link = attrs & 0x400 and node.symbolic_link_target
                ident = node.file_reference & 0xFFFFFFFFFFFF
            else:
                is_dir, link, ident = (
                    bool(attrs & 0x10) or node is self.root,
                    False,
                    node.identifier,
                )
            if link:
                mode = st.S_IFLNK | 0o777
            elif is_dir:
                mode = st.S_IFDIR | 0o755
            else:
                mode = st.S_IFREG | (0o444 if attrs & 0x1 else 0o644)
            size = 0 if is_dir else node.size
            return GuestStat(mode, size, 0, 0, _fat_ntfs_mtime(kind, node), ident)
        mtime = node.get_modification_time_as_integer() // 1_000_000_000
        mode = node.file_mode
        return GuestStat(
            mode,
            node.size if st.S_ISREG(mode) or st.S_ISLNK(mode) else 0,
            node.owner_identifier,
            node.group_identifier,
            mtime,
            node.inode_number,
        )

    def readlink(self, node: Any) -> str | None:
        """A symlink node's target as stored (may be relative or absolute)."""
        try:
            target = node.symbolic_link_target
        except (OSError, MemoryError, ValueError) as err:
            raise CorruptImage(f"{self.kind}: cannot read a symlink: {one_line(err)}") from err
        return str(target) if target else None

    def extents(self, node: Any) -> Iterator[tuple[int, int]]:
        """(offset in the volume, length) of each allocated extent of a regular file."""
        count = node.get_number_of_extents()
        for i in range(min(count, 1_000_000)):
            offset, size, flags = node.get_extent(i)
            if size > 0 and not flags & 0x1:  # 0x1: sparse (nothing stored)
                yield offset, size

    def read(self, node: Any, offset: int, length: int) -> bytes:
        """Bytes of a regular file."""
        try:
            data: bytes = node.read_buffer_at_offset(length, offset)
        except (OSError, MemoryError, ValueError) as err:
            raise CorruptImage(f"{self.kind}: cannot read a file: {one_line(err)}") from err
        return data


def _mft_index(node: Any) -> int:
    """MFT entry number of an NTFS file entry (the low 48 bits of its file reference)."""
    return int(node.file_reference) & 0xFFFFFFFFFFFF


def _fat_ntfs_mtime(kind: FsKind, node: Any) -> int:
    try:
        value = node.get_modification_time_as_integer()
    except OSError:
        return 0
    if not isinstance(value, int):
        return 0
    if kind == FsKind.NTFS:
        return max(0, value // 10_000_000 - _FILETIME_EPOCH)
    # libfsfat: 10 ms units since 1980-01-01.
    return int(value // 100 + 315_532_800)


def one_line(err: BaseException) -> str:
    """A library error as one bounded line (libyal chains many messages together)."""
    return text_one_line(str(err), 300)


def open_filesystem(source: ByteSource, signature: FsSignature) -> Filesystem:
    """Open a supported filesystem; ``CorruptImage`` when its structures do not hold."""
    if signature.kind not in SUPPORTED:
        raise CorruptImage(f"unsupported filesystem {signature.kind or 'unknown'}")
    if signature.kind == FsKind.BTRFS:
        from vmguard.disk.btrfs.filesystem import open_btrfs  # it imports this module

        return open_btrfs(source, signature)
    return Filesystem(signature.kind, source, signature)


def _named_entries(node: Any) -> Iterator[tuple[str, Any]]:
    """A directory's entries with their names. A name the reader cannot decode (not UTF-8:
    libyal refuses it) gets a stand-in naming the entry's inode, so the file is still walked
    and scanned, and its neighbours are not lost with it (one such name used to hide the
    whole directory)."""
    for index in range(node.number_of_sub_file_entries):
        entry = node.get_sub_file_entry(index)
        try:
            name = entry.name
        except OSError:
            name = f"<undecodable name, inode {_entry_number(entry)}>"
        if name:
            yield name, entry


def _entry_number(entry: Any) -> int:
    for attribute in ("inode_number", "file_reference", "identifier"):
        number = getattr(entry, attribute, None)
        if isinstance(number, int):
            return number & 0xFFFFFFFFFFFF if attribute == "file_reference" else number
    return -1
