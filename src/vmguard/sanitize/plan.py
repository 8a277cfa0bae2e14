"""The changes sanitize will make, resolved inside the guest before any tool runs.

Every guest path is resolved by vmguard's own ``GuestFS``: intermediate symlinks resolve
inside the guest, and the last component is never followed — a symlink is removed as a
link or left alone, never written through. Each change is pinned to the filesystem that
holds it and to inode numbers, so the writing tools cannot resolve a name differently.
"""

from __future__ import annotations

import posixpath
import stat as st
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from vmguard.disk.fskind import FsKind
from vmguard.disk.guestfs import GuestFS, Mount, split_guest_path
from vmguard.guest.view import GuestStat
from vmguard.problems import Problem, Stage

MAX_REWRITE_BYTES = 16 * 1024 * 1024
"""Files rewritten line by line (shadow, .env, ...) are read whole; larger ones are removed."""
MAX_EDITS = 200_000


class EditKind(StrEnum):
    """What happens to one guest path."""

    REMOVE = "removed"
    REMOVE_DIR = "removed (empty directory)"
    TRUNCATE = "emptied"
    REWRITE = "rewritten"


@dataclass(frozen=True, slots=True)
class Edit:
    """One change to one guest path, addressed in its own filesystem."""

    operation: str
    path: str
    """Canonical guest path (symlinks in the directories above resolved inside the guest)."""
    kind: EditKind
    mount: Mount = field(repr=False, compare=False)
    inode: int
    parent_inode: int
    name: str
    """The entry's name in its parent directory."""
    relative: str
    """The path inside its filesystem ("/" is the filesystem's root)."""
    stat: GuestStat
    detail: str = ""
    content: bytes | None = field(default=None, repr=False)
    """The new content of a REWRITE."""


KEPT = "kept (--keep)"
"""The reason of a change skipped because the user asked to keep the path."""


@dataclass(frozen=True, slots=True)
class _Found:
    path: str
    mount: Mount
    node: Any
    info: GuestStat
    parent: Any


class Plan:
    """Collects the edits of every operation; later edits of a path build on earlier ones."""

    def __init__(self, fs: GuestFS, keep: tuple[str, ...] = ()) -> None:
        self.fs = fs
        self.keep = tuple("/" + "/".join(split_guest_path(k)) for k in keep)
        self.edits: dict[str, Edit] = {}
        self.skipped: list[Problem] = []
        """Changes wanted but not planned: ``where`` the path, ``reason`` "<operation>: why"."""

    def skip(self, operation: str, path: str, reason: str) -> None:
        """Record that ``operation`` wanted to change ``path`` and why it will not."""
        self.skipped.append(Problem(Stage.SANITIZE, path, f"{operation}: {reason}"))

    # -- resolution -----------------------------------------------------------------------

    def _kept(self, path: str) -> bool:
        return any(path == k or path.startswith(k.rstrip("/") + "/") for k in self.keep)

    def _find(self, operation: str, path: str) -> _Found | None:
        found = self.fs.resolve(path, follow=False)
        if found is None:
            return None
        canonical, mount, node = found
        if self._kept(canonical) or self._kept(path):
            self.skip(operation, canonical, KEPT)
            return None
        point = mount.mountpoint.rstrip("/")
        inside = split_guest_path(canonical[len(point) :])
        if mount.fs.kind == FsKind.NTFS and inside and inside[0].startswith("$"):
            # $MFT, $LogFile, $Extend/...: the filesystem itself (a resident file's bytes
            # show up in $MFT, so a scan finding can point there)
            self.skip(operation, canonical, "NTFS metadata: never written")
            return None
        parent_path = posixpath.dirname(canonical)
        parent = self.fs.resolve(parent_path)
        if canonical == mount.mountpoint or parent is None or parent[1] is not mount:
            self.skip(operation, canonical, "a mount point: left as is")
            return None
        return _Found(canonical, mount, node, mount.fs.stat(node), parent[2])

    def _add(self, found: _Found, operation: str, kind: EditKind, **extra: Any) -> None:
        if len(self.edits) >= MAX_EDITS:
            self.skip(operation, found.path, f"more than {MAX_EDITS} changes")
            return
        previous = self.edits.get(found.path)
        if previous is not None and previous.kind in (EditKind.REMOVE, EditKind.REMOVE_DIR):
            return
        point = found.mount.mountpoint.rstrip("/")
        relative = found.path[len(point) :] or "/"
        self.edits[found.path] = Edit(
            operation=operation,
            path=found.path,
            kind=kind,
            mount=found.mount,
            inode=found.info.inode,
            parent_inode=found.mount.fs.stat(found.parent).inode,
            name=posixpath.basename(found.path),
            relative=relative,
            stat=found.info,
            **extra,
        )

    # -- what operations call -------------------------------------------------------------

    def remove(self, operation: str, path: str, detail: str = "") -> bool:
        """Remove a file or symlink (the link itself); directories go through ``clear_dir``."""
        found = self._find(operation, path)
        if found is None:
            return False
        if st.S_ISDIR(found.info.mode):
            self.skip(operation, found.path, "a directory: not removed")
            return False
        self._add(found, operation, EditKind.REMOVE, detail=detail)
        return True

    def truncate(self, operation: str, path: str, detail: str = "") -> bool:
        """Empty a regular file, keeping its inode, owner and mode; symlinks are left alone."""
        found = self._find(operation, path)
        if found is None:
            return False
        if st.S_ISLNK(found.info.mode):
            self.skip(operation, found.path, "a symlink: never followed for a write")
            return False
        if not st.S_ISREG(found.info.mode) or found.info.size == 0:
            return False
        current = self.edits.get(found.path)
        if current is not None and current.kind is not EditKind.REWRITE:
            return False
        self._add(found, operation, EditKind.TRUNCATE, detail=detail or f"{found.info.size} bytes")
        return True

    def rewrite(
        self, operation: str, path: str, change: Callable[[bytes], tuple[bytes, str]]
    ) -> bool:
        """Replace a regular file's content by ``change(current content)`` -> (new content,
        what changed), if it differs."""
        found = self._find(operation, path)
        if found is None:
            return False
        if not st.S_ISREG(found.info.mode):
            if st.S_ISLNK(found.info.mode):
                self.skip(operation, found.path, "a symlink: never followed for a write")
            return False
        current = self.edits.get(found.path)
        if current is not None and current.kind is not EditKind.REWRITE:
            return False
        if found.info.size > MAX_REWRITE_BYTES:
            self.skip(operation, found.path, "too large to rewrite")
            return False
        before = (
            current.content
            if current is not None and current.content is not None
            else self.fs.read_node(found.mount, found.node, 0, found.info.size)
        )
        after, detail = change(before)
        if after == before:
            return False
        merged = detail if current is None else f"{current.detail}; {detail}".strip("; ")
        self._add(found, operation, EditKind.REWRITE, detail=merged, content=after)
        return True

    def clear_dir(self, operation: str, path: str, *, remove_self: bool = False) -> int:
        """Remove everything below a directory (depth first); the directory itself stays
        unless ``remove_self``. Returns the number of entries planned for removal."""
        found = self._find(operation, path)
        if found is None or not st.S_ISDIR(found.info.mode):
            return 0
        count = 0
        entries = list(self.fs.walk(found.path))
        for entry in reversed(entries):
            if self._kept(entry.path):
                self.skip(operation, entry.path, KEPT)
                continue
            if entry.mount is not found.mount:
                continue
            if st.S_ISDIR(entry.stat.mode):
                if self._dir_emptied(entry.path):
                    sub = self._find(operation, entry.path)
                    if sub is not None:
                        self._add(sub, operation, EditKind.REMOVE_DIR)
                        count += 1
            elif self.remove(operation, entry.path):
                count += 1
        if remove_self and self._dir_emptied(found.path):
            self._add(found, operation, EditKind.REMOVE_DIR)
            count += 1
        return count

    def _dir_emptied(self, path: str) -> bool:
        names = self.fs.list_dir(path) or []
        prefix = path.rstrip("/") + "/"
        return all(
            (e := self.edits.get(prefix + n)) is not None
            and e.kind in (EditKind.REMOVE, EditKind.REMOVE_DIR)
            for n in names
        )

    def files(self, directory: str, *, recursive: bool = False) -> Iterator[str]:
        """Regular files and symlinks in a guest directory (below it with ``recursive``)."""
        if not recursive:
            for name in self.fs.list_dir(directory) or []:
                path = directory.rstrip("/") + "/" + name
                info = self.fs.stat(path, follow=False)
                if info is not None and (st.S_ISREG(info.mode) or st.S_ISLNK(info.mode)):
                    yield path
            return
        found = self.fs.resolve(directory)
        if found is None or not st.S_ISDIR(found[1].fs.stat(found[2]).mode):
            return
        for entry in self.fs.walk(found[0]):
            if st.S_ISREG(entry.stat.mode) or st.S_ISLNK(entry.stat.mode):
                yield entry.path

    def ordered(self) -> list[Edit]:
        """Edits in the order they must run: files before the directories that held them."""
        edits = list(self.edits.values())
        return sorted(
            edits,
            key=lambda e: (e.kind is EditKind.REMOVE_DIR, -len(split_guest_path(e.path))),
        )
