"""The btrfs reader behind vmguard's ``Filesystem`` interface, one view per subvolume.

A view shows one subvolume at its root (the default subvolume unless fstab's ``subvol=`` or
``subvolid=`` names another); views of one volume share its parsed structures and caches.
Nodes are ``BtrfsNode`` values; inode numbers of other subvolumes are made unique per view
so that walks and caches never confuse two trees.
"""

from __future__ import annotations

import stat as st
from collections.abc import Iterator
from typing import Any, Final, cast

from vmguard.disk.btrfs.files import BtrfsNode, FileReader
from vmguard.disk.btrfs.items import FS_TREE
from vmguard.disk.btrfs.leaffiles import GID, MODE, MTIME, SIZE, UID
from vmguard.disk.btrfs.volume import BtrfsVolume
from vmguard.disk.errors import CorruptImage
from vmguard.disk.filesystems import Filesystem, FsSignature
from vmguard.disk.fskind import FsKind
from vmguard.disk.source import ByteSource
from vmguard.guest.view import GuestStat

MAX_SYMLINK_BYTES: Final = 4096
_SIZED: Final = (st.S_IFREG, st.S_IFLNK)
"""File types whose stat carries the inode's size."""
MAX_SUBVOLUME_PATH: Final = 64
_new_stat = tuple.__new__
"""Makes a ``GuestStat`` without NamedTuple's Python-level ``__new__`` (one per walked file)."""


class BtrfsFilesystem(Filesystem):
    """One subvolume of a btrfs volume, read through ``FileReader``.

    The libyal-backed ``Filesystem.__init__`` is not used: this class sets the same public
    attributes (kind, uuid, label, root, volume) itself and overrides every method.
    """

    read_chunk = 0x7FFF_FFFF_FFFF_FFFF  # sys.maxsize, as a literal mypyc compiles
    """Any length in one ``read``: it is clipped at the inode's size and assembled from the
    file's extents (holes as zeros), which is what pieces joined together would give, without
    a second copy of every large file."""

    def __init__(self, reader: FileReader, signature: FsSignature, root: BtrfsNode) -> None:
        self.kind = FsKind.BTRFS
        self.uuid = signature.uuid
        self.label = signature.label
        self.signature = signature
        self.reader = reader
        self.volume: Any = reader.volume
        self.root: Any = root
        reader.inode(root)

    def view(self, root: BtrfsNode) -> BtrfsFilesystem:
        """Another view of the same volume rooted at ``root`` (a subvolume's top directory)."""
        return BtrfsFilesystem(self.reader, self.signature, root)

    def children(self, node: Any) -> dict[str, Any]:
        """Entries of a directory node, by name (subvolumes appear as directories)."""
        return self.reader.entries(node)

    def stat(self, node: Any) -> GuestStat:
        """Metadata of a node."""
        record = self.reader.record(node)
        mode: int = record[MODE]
        size: int = record[SIZE] if mode & 0o170000 in _SIZED else 0
        tree, ino = cast(BtrfsNode, node)  # typed: compiled code unpacks it in place
        number = ino if tree == self.root[0] else tree << 64 | ino
        return _new_stat(GuestStat, (mode, size, record[UID], record[GID], record[MTIME], number))

    def readlink(self, node: Any) -> str | None:
        """A symlink's target as stored."""
        data = self.reader.read(node, 0, MAX_SYMLINK_BYTES)
        return data.decode("utf-8", "replace") if data else None

    def read(self, node: Any, offset: int, length: int) -> bytes:
        """Bytes of a regular file."""
        return self.reader.read(node, offset, length)

    def extents(self, node: Any) -> Iterator[tuple[int, int]]:
        """(offset in the volume, length) of the bytes a regular file is read from."""
        return self.reader.device_extents(node)

    def xattrs(self, node: Any) -> dict[str, bytes]:
        """Extended attributes of a node, by name."""
        return {k.decode("utf-8", "replace"): v for k, v in self.reader.xattrs(node).items()}

    def subvolume_ids(self) -> list[int]:
        """Every subvolume and snapshot tree id (the top level excluded)."""
        return [tree for tree, _parent, _name in self.volume.subvolumes()]

    def subvolume(self, *, path: str | None = None, ident: int | None = None) -> BtrfsFilesystem:
        """A view of the subvolume fstab names by ``subvol=`` path (from the top level) or
        ``subvolid=``; ``CorruptImage`` when it does not exist."""
        if ident is not None:
            tree = FS_TREE if ident == 0 else ident
            root = self.volume.root(tree)
            if root is None:
                raise CorruptImage(f"btrfs subvolume id {ident} does not exist")
            return self.view((tree, root.root_dirid))
        top = self.volume.require_root(FS_TREE)
        node: BtrfsNode = (FS_TREE, top.root_dirid)
        parts = [p for p in (path or "").split("/") if p and p != "."]
        if len(parts) > MAX_SUBVOLUME_PATH:
            raise CorruptImage("btrfs subvolume path is too deep")
        for part in parts:
            child = self.children(node).get(part)
            if child is None or not st.S_ISDIR(self.reader.inode(child).mode):
                raise CorruptImage(f"btrfs subvolume {path!r} does not exist")
            node = child
        return self.view(node)


def open_btrfs(source: ByteSource, signature: FsSignature) -> BtrfsFilesystem:
    """Open a btrfs volume at its default subvolume."""
    volume = BtrfsVolume(source)
    tree = volume.default_subvolume()
    root = volume.require_root(tree)
    return BtrfsFilesystem(FileReader(volume), signature, (tree, root.root_dirid))
