"""Where a guest's btrfs subvolumes go: the root candidates and fstab's ``subvol=`` options.

Fedora keeps its root in a ``root`` subvolume beside ``home`` under the top level; openSUSE
sets the default subvolume to ``@/.snapshots/N/snapshot`` and mounts ``@/home``, ``@/var``
... by ``subvol=``. The root is looked for in the default subvolume first, then in each
subvolume by id (bounded), and fstab entries naming a subvolume mount a view of it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from vmguard.disk.btrfs.filesystem import BtrfsFilesystem
from vmguard.disk.errors import CorruptImage
from vmguard.disk.filesystems import Filesystem

MAX_ROOT_CANDIDATES = 64


def root_candidates(fs: Filesystem) -> Iterator[Filesystem]:
    """``fs`` itself, then (for btrfs) a view of each subvolume that might hold the root."""
    yield fs
    if not isinstance(fs, BtrfsFilesystem):
        return
    shown = fs.root[0]
    try:
        trees = fs.subvolume_ids()[:MAX_ROOT_CANDIDATES]
    except CorruptImage:
        return  # the default subvolume is still shown; a broken root tree hides the rest
    for tree in trees:
        if tree == shown:
            continue
        try:
            yield fs.subvolume(ident=tree)
        except CorruptImage:
            continue


def fstab_subvolume(fs: Filesystem, options: Sequence[str]) -> Filesystem | None:
    """The view fstab's ``subvol=``/``subvolid=`` options name on a btrfs volume, None when
    the entry names no subvolume (or the volume is not btrfs); ``CorruptImage`` when the
    named subvolume does not exist."""
    if not isinstance(fs, BtrfsFilesystem):
        return None
    path = ident = None
    for option in options:
        name, _, value = option.partition("=")
        if name == "subvol":
            path = value
        elif name == "subvolid":
            try:
                ident = int(value)
            except ValueError:
                raise CorruptImage(f"fstab subvolid={value[:40]!r} is not a number") from None
    if ident is not None:
        return fs.subvolume(ident=ident)
    if path is not None:
        return fs.subvolume(path=path)
    return None
