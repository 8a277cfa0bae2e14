"""A GuestView over a real directory tree, for tests (and offline host roots).

Guest paths are resolved component by component inside ``root`` with chroot semantics:
``..`` stops at the root, absolute symlink targets restart at the root, and more than
``MAX_SYMLINK_HOPS`` links in one lookup ends it. A host path outside ``root`` is never
opened, whatever the links in the tree say.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from pathlib import Path

from vmguard.guest.view import GuestFileTooLarge, GuestStat

MAX_SYMLINK_HOPS = 40


class DirView:
    """Read-only GuestView of the directory tree at ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _resolve(self, path: str, *, follow_last: bool = True) -> Path | None:
        """Host path inside the tree for guest ``path``; None on a symlink loop."""
        pending = deque(path.split("/"))
        resolved: list[str] = []
        hops = 0
        while pending:
            name = pending.popleft()
            if name in ("", "."):
                continue
            if name == "..":
                if resolved:
                    resolved.pop()
                continue
            host = self.root.joinpath(*resolved, name)
            is_last = not any(part not in ("", ".") for part in pending)
            if host.is_symlink() and (follow_last or not is_last):
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    return None
                target = os.readlink(host)
                if target.startswith("/"):
                    resolved = []
                pending.extendleft(reversed(target.split("/")))
                continue
            resolved.append(name)
        return self.root.joinpath(*resolved)

    def read_file(self, path: str, max_bytes: int) -> bytes | None:
        """Content of a regular file; GuestFileTooLarge above ``max_bytes``."""
        host = self._resolve(path)
        if host is None:
            return None
        try:
            info = host.lstat()
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        if info.st_size > max_bytes:
            raise GuestFileTooLarge(f"{path}: {info.st_size} bytes, more than {max_bytes}")
        return host.read_bytes()

    def list_dir(self, path: str) -> list[str] | None:
        """Sorted entry names of a directory, None if it is not one."""
        host = self._resolve(path)
        if host is None or host.is_symlink() or not host.is_dir():
            return None
        return sorted(os.listdir(host))

    def stat(self, path: str, *, follow: bool = True) -> GuestStat | None:
        """lstat() of the resolved path (the last link followed only with ``follow``)."""
        host = self._resolve(path, follow_last=follow)
        if host is None:
            return None
        try:
            info = host.lstat()
        except OSError:
            return None
        return GuestStat(
            mode=info.st_mode,
            size=info.st_size,
            uid=info.st_uid,
            gid=info.st_gid,
            mtime=int(info.st_mtime),
            inode=info.st_ino,
        )

    def readlink(self, path: str) -> str | None:
        """Stored target of a symlink, None if ``path`` is not one."""
        host = self._resolve(path, follow_last=False)
        if host is None or not host.is_symlink():
            return None
        return os.readlink(host)
