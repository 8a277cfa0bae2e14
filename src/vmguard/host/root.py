"""``HostRoot``: every read of a host goes through here, live (``/``) or offline (``--root``).

Host paths are resolved component by component under the root with chroot semantics:
``..`` stops at the root, an absolute symlink target restarts at the root, a relative one
continues from the link's directory, and more than ``MAX_SYMLINK_HOPS`` links end the
lookup. Directories are opened one at a time with ``O_NOFOLLOW`` relative to their parent's
descriptor, so a link swapped in during the walk cannot lead out of the root either.

This module must never write, never follow a link out of the root, never read more than
the caller's bound, and never block on a FIFO or device (``O_NONBLOCK``, regular files only).
"""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from vmguard.guest.view import GuestFileTooLarge, GuestStat
from vmguard.host.errors import RootUnusable

MAX_SYMLINK_HOPS = 40
MAX_DIR_ENTRIES = 100_000
"""Entries of one directory listed at most (the rest are not returned)."""
MAX_PATH_CHARS = 4096

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _guest_stat(info: os.stat_result) -> GuestStat:
    return GuestStat(
        mode=info.st_mode,
        size=info.st_size,
        uid=info.st_uid,
        gid=info.st_gid,
        mtime=int(info.st_mtime),
        inode=info.st_ino,
    )


class HostRoot:
    """Read-only, bounded access to a host's files under ``root`` (a ``GuestView``)."""

    def __init__(self, root: Path) -> None:
        """Use ``root`` (``/`` for the live host); refuse what is not a directory."""
        try:
            resolved = root.resolve(strict=True)
        except (OSError, RuntimeError) as err:
            raise RootUnusable(f"{root}: cannot use as host root ({err})") from err
        if not resolved.is_dir():
            raise RootUnusable(f"{root}: not a directory")
        self.root = resolved

    @property
    def live(self) -> bool:
        """True when the root is the running system's ``/``."""
        return self.root == Path("/")

    def __repr__(self) -> str:
        return f"HostRoot({str(self.root)!r})"

    @contextmanager
    def _located(self, path: str, *, follow_last: bool) -> Iterator[tuple[int, str] | None]:
        """(descriptor of the parent directory, last name) of ``path`` inside the root.

        None when a component is missing, not a directory, or the links loop.
        """
        if len(path) > MAX_PATH_CHARS:
            yield None
            return
        root_fd = os.open(self.root, _DIR_FLAGS)
        stack = [root_fd]
        try:
            yield self._walk(path, stack, follow_last=follow_last)
        finally:
            for fd in stack:
                os.close(fd)

    def _walk(self, path: str, stack: list[int], *, follow_last: bool) -> tuple[int, str] | None:
        pending = deque(part for part in path.split("/") if part not in ("", "."))
        hops = 0
        while pending:
            name = pending.popleft()
            if name == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                continue
            is_last = not pending
            try:
                info = os.stat(name, dir_fd=stack[-1], follow_symlinks=False)
            except OSError:
                return None if pending else (stack[-1], name)
            if stat.S_ISLNK(info.st_mode) and (follow_last or not is_last):
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    return None
                try:
                    target = os.readlink(name, dir_fd=stack[-1])
                except OSError:
                    return None
                if target.startswith("/"):
                    while len(stack) > 1:
                        os.close(stack.pop())
                pending.extendleft(reversed([p for p in target.split("/") if p not in ("", ".")]))
                continue
            if is_last:
                return stack[-1], name
            if not stat.S_ISDIR(info.st_mode):
                return None
            try:
                stack.append(os.open(name, _DIR_FLAGS, dir_fd=stack[-1]))
            except OSError:
                return None
        return stack[-1], "."

    def stat(self, path: str, *, follow: bool = True) -> GuestStat | None:
        """Metadata of a host path (the last link followed only with ``follow``)."""
        with self._located(path, follow_last=follow) as where:
            if where is None:
                return None
            try:
                return _guest_stat(os.stat(where[1], dir_fd=where[0], follow_symlinks=False))
            except OSError:
                return None

    def readlink(self, path: str) -> str | None:
        """Target of a symlink as stored, None when the path is not a symlink."""
        with self._located(path, follow_last=False) as where:
            if where is None:
                return None
            try:
                return os.readlink(where[1], dir_fd=where[0])
            except OSError:
                return None

    def real_path(self, path: str) -> str | None:
        """The host path ``path`` resolves to inside the root (links followed), or None."""
        parts: list[str] = []
        pending = deque(p for p in path.split("/") if p not in ("", "."))
        hops = 0
        while pending:
            name = pending.popleft()
            if name == "..":
                if parts:
                    parts.pop()
                continue
            current = "/" + "/".join([*parts, name])
            target = self.readlink(current)
            if target is None:
                parts.append(name)
                continue
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                return None
            if target.startswith("/"):
                parts = []
            pending.extendleft(reversed([p for p in target.split("/") if p not in ("", ".")]))
        return "/" + "/".join(parts)

    def open_regular(self, path: str) -> BinaryIO | None:
        """An open binary stream on a regular file (links resolved in the root), else None."""
        with self._located(path, follow_last=True) as where:
            if where is None:
                return None
            try:
                fd = os.open(where[1], _FILE_FLAGS, dir_fd=where[0])
            except OSError:
                return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                return None
            os.set_blocking(fd, True)
            return os.fdopen(fd, "rb")
        except OSError:
            os.close(fd)
            return None

    def read_file(self, path: str, max_bytes: int) -> bytes | None:
        """Whole content of a regular file; ``GuestFileTooLarge`` above ``max_bytes``.

        The bound is on bytes read, not on ``st_size``, so /proc and /sys files (which
        report a size of 0 or 4096) are read correctly too.
        """
        handle = self.open_regular(path)
        if handle is None:
            return None
        with handle:
            try:
                data = handle.read(max_bytes + 1)
            except OSError:
                return None
        if len(data) > max_bytes:
            raise GuestFileTooLarge(f"{path}: more than {max_bytes} bytes")
        return data

    def read_text(self, path: str, max_bytes: int = 1024 * 1024) -> str | None:
        """``read_file`` decoded as UTF-8 (bad bytes replaced)."""
        data = self.read_file(path, max_bytes)
        return None if data is None else data.decode("utf-8", "replace")

    def list_dir(self, path: str) -> list[str] | None:
        """Sorted entry names of a directory (at most ``MAX_DIR_ENTRIES``), None if not one."""
        with self._located(path, follow_last=True) as where:
            if where is None:
                return None
            try:
                fd = os.open(where[1], _DIR_FLAGS, dir_fd=where[0])
            except OSError:
                return None
        try:
            names: list[str] = []
            with os.scandir(fd) as entries:
                for entry in entries:
                    names.append(entry.name)
                    if len(names) >= MAX_DIR_ENTRIES:
                        break
            return sorted(names)
        except OSError:
            return None
        finally:
            os.close(fd)


def join(directory: str, name: str) -> str:
    """A host path of ``name`` in ``directory`` ("/" handled)."""
    return f"{directory.rstrip('/')}/{name}"
