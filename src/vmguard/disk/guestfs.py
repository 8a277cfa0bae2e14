"""GuestFS: the guest's files as the guest sees them, read-only, resolved inside the guest.

Filesystems are placed at the guest's own mount points (see ``layout``). Every path is a
guest path; symlinks, absolute ones included, resolve inside the guest with ".." clamped at
the guest root and a hop limit. Nothing here can reach a host path: there is no code path
from a guest name to ``open()``.
"""

from __future__ import annotations

import stat as st
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from vmguard.disk.errors import CorruptImage, DiskError, LimitExceeded
from vmguard.disk.filesystems import Filesystem
from vmguard.disk.fskind import FsKind
from vmguard.guest.view import GuestFileTooLarge, GuestStat

MAX_SYMLINK_HOPS: Final = 40
MAX_WALK_DEPTH: Final = 256
_DIR_CACHE: Final = 1024
_FILE_TYPE: Final = 0o170000
_DIRECTORY: Final = 0o040000
"""``stat.S_ISDIR(info.mode)`` as compiled code does it without two lookups by name (the
walk's test per entry; ``info[0]`` is ``mode``)."""


class GuestPathError(DiskError):
    """A guest path could not be resolved (symlink loop, too deep)."""


@dataclass(frozen=True, slots=True)
class Mount:
    """A filesystem placed at a guest mount point."""

    mountpoint: str
    fs: Filesystem = field(repr=False)
    source: str
    """Which volume: "disk.qcow2 partition 2", "vg0/home", ..."""


class WalkEntry(NamedTuple):
    """One path met by a walk; ``node`` is the reader's handle for ``read``.

    A tuple for the reason ``GuestStat`` is one: a walk makes one per guest file."""

    path: str
    stat: GuestStat
    mount: Mount
    node: Any


def split_guest_path(path: str) -> list[str]:
    """Components of a guest path; empty and "." components dropped."""
    return [part for part in path.split("/") if part and part != "."]


_new_entry = tuple.__new__
"""Makes a ``WalkEntry`` without NamedTuple's Python-level ``__new__`` (one per walked file)."""


class GuestFS:
    """Read-only access to an assembled guest; implements ``vmguard.guest.view.GuestView``."""

    def __init__(self, mounts: list[Mount]) -> None:
        if not mounts or not any(m.mountpoint == "/" for m in mounts):
            raise DiskError("no filesystem is mounted at /")
        self.mounts = sorted(mounts, key=lambda m: len(split_guest_path(m.mountpoint)))
        self._by_components = {tuple(split_guest_path(m.mountpoint)): m for m in self.mounts}
        self._dirs: OrderedDict[tuple[int, int], dict[str, Any]] = OrderedDict()

    # -- resolution ---------------------------------------------------------------------

    def _children(self, mount: Mount, node: Any) -> dict[str, Any]:
        key = (id(mount.fs), mount.fs.stat(node).inode)
        cached = self._dirs.get(key)
        if cached is not None:
            self._dirs.move_to_end(key)
            return cached
        entries = mount.fs.children(node)
        self._dirs[key] = entries
        if len(self._dirs) > _DIR_CACHE:
            self._dirs.popitem(last=False)
        return entries

    def _child(
        self, parent: tuple[Mount, Any], components: tuple[str, ...], name: str
    ) -> tuple[Mount, Any] | None:
        mounted = self._by_components.get((*components, name))
        if mounted is not None:
            return mounted, mounted.fs.root
        mount, node = parent
        entries = self._children(mount, node)
        child = entries.get(name)
        if child is None and mount.fs.kind in (FsKind.VFAT, FsKind.NTFS):
            folded = name.casefold()
            child = next((v for k, v in entries.items() if k.casefold() == folded), None)
        return None if child is None else (mount, child)

    def _root(self) -> tuple[Mount, Any]:
        mount = self._by_components[()]
        return mount, mount.fs.root

    def resolve(self, path: str, *, follow: bool = True) -> tuple[str, Mount, Any] | None:
        """Resolve a guest path to (canonical path, mount, node), None if it does not exist.

        Intermediate symlinks are always followed; the last one only with ``follow``.
        """
        pending = split_guest_path(path)
        pending.reverse()
        resolved: list[str] = []
        trail: list[tuple[Mount, Any]] = [self._root()]
        hops = 0
        while pending:
            name = pending.pop()
            if name == "..":
                if resolved:
                    resolved.pop()
                    trail.pop()
                continue
            current = trail[-1]
            if not st.S_ISDIR(current[0].fs.stat(current[1]).mode):
                return None
            found = self._child(current, tuple(resolved), name)
            if found is None:
                return None
            mount, node = found
            info = mount.fs.stat(node)
            if st.S_ISLNK(info.mode) and (pending or follow):
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    raise GuestPathError(f"too many levels of symbolic links at {path!r}")
                target = mount.fs.readlink(node) or ""
                if target.startswith("/"):
                    resolved, trail = [], [self._root()]
                parts = split_guest_path(target)
                pending.extend(reversed(parts))
                continue
            resolved.append(name)
            trail.append(found)
        mount, node = trail[-1]
        return "/" + "/".join(resolved), mount, node

    # -- GuestView ----------------------------------------------------------------------

    def stat(self, path: str, *, follow: bool = True) -> GuestStat | None:
        """Metadata of a guest path (the link itself when ``follow`` is False)."""
        found = self.resolve(path, follow=follow)
        return None if found is None else found[1].fs.stat(found[2])

    def readlink(self, path: str) -> str | None:
        """Target of a symlink as stored."""
        found = self.resolve(path, follow=False)
        if found is None or not st.S_ISLNK(found[1].fs.stat(found[2]).mode):
            return None
        return found[1].fs.readlink(found[2])

    def list_dir(self, path: str) -> list[str] | None:
        """Names in a directory, mount points included, sorted."""
        found = self.resolve(path)
        if found is None or not st.S_ISDIR(found[1].fs.stat(found[2]).mode):
            return None
        canonical, mount, node = found
        names = set(self._children(mount, node))
        prefix = tuple(split_guest_path(canonical))
        names.update(
            c[-1] for c in self._by_components if len(c) == len(prefix) + 1 and c[:-1] == prefix
        )
        return sorted(names)

    def read_file(self, path: str, max_bytes: int) -> bytes | None:
        """Content of a regular file, symlinks resolved inside the guest."""
        found = self.resolve(path)
        if found is None:
            return None
        _, mount, node = found
        info = mount.fs.stat(node)
        if not st.S_ISREG(info.mode):
            return None
        if info.size > max_bytes:
            raise GuestFileTooLarge(f"{path} is {info.size} bytes (limit {max_bytes})")
        return self.read_node(mount, node, 0, info.size)

    def read_node(self, mount: Mount, node: Any, offset: int, length: int) -> bytes:
        """Bytes of a file found by ``resolve`` or ``walk``."""
        step = mount.fs.read_chunk
        if length <= step:
            return mount.fs.read(node, offset, length)
        parts = []
        end = offset + length
        while offset < end:
            chunk = mount.fs.read(node, offset, min(step, end - offset))
            if not chunk:
                break
            parts.append(chunk)
            offset += len(chunk)
        return b"".join(parts)

    # -- walking ------------------------------------------------------------------------

    def walk(
        self,
        top: str = "/",
        *,
        max_entries: int = 5_000_000,
        on_error: Callable[[str, str], None] | None = None,
    ) -> Iterator[WalkEntry]:
        """Every path below ``top``, depth first, symlinks not followed, each directory once.

        Mount points are crossed into the mounted filesystem. Directory hard-link cycles are
        cut by an (filesystem, inode) visited set; depth and entry count are bounded. A
        directory that cannot be listed is passed to ``on_error(path, message)`` and skipped;
        without ``on_error`` the error propagates.
        """
        found = self.resolve(top)
        if found is None:
            return
        canonical, mount, node = found
        # Each directory carries the inode number its stat gave: no second stat to mark it.
        top_inode = mount.fs.stat(node).inode
        stack: list[tuple[str, Mount, Any, int, int]] = [(canonical, mount, node, 0, top_inode)]
        visited: set[tuple[int, int]] = set()
        seen = 0
        while stack:
            dir_path, mount, node, depth, inode = stack.pop()
            key = (id(mount.fs), inode)
            if key in visited:
                continue
            visited.add(key)
            prefix = tuple(split_guest_path(dir_path))
            try:
                entries = mount.fs.children(node)
            except CorruptImage as err:
                if on_error is None:
                    raise
                on_error(dir_path, err.diagnostics())
                continue
            names = dict(entries)
            mounted_here: dict[str, Mount] = {}
            for comps, mounted in self._by_components.items():
                if len(comps) == len(prefix) + 1 and comps[:-1] == prefix:
                    names[comps[-1]] = None
                    mounted_here[comps[-1]] = mounted
            subdirs: list[tuple[str, Mount, Any, int, int]] = []
            parent = "" if dir_path == "/" else dir_path
            for name in sorted(names):
                child_path = parent + "/" + name
                child_mount, child = mounted_here.get(name), names[name]
                if child_mount is not None:
                    child = child_mount.fs.root
                else:
                    child_mount = mount
                try:
                    info = child_mount.fs.stat(child)
                except CorruptImage as err:  # one unreadable inode, not the whole walk
                    if on_error is None:
                        raise
                    on_error(child_path, err.diagnostics())
                    continue
                seen += 1
                if seen > max_entries:
                    raise LimitExceeded(f"more than {max_entries} entries in the guest")
                yield _new_entry(WalkEntry, (child_path, info, child_mount, child))
                if info[0] & _FILE_TYPE == _DIRECTORY and depth + 1 < MAX_WALK_DEPTH:
                    subdirs.append((child_path, child_mount, child, depth + 1, info.inode))
            stack.extend(reversed(subdirs))
