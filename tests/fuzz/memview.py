"""A GuestView over files held in memory: the guest-fact harnesses feed one file at a time."""

from __future__ import annotations

import stat

from vmguard.guest.view import GuestFileTooLarge, GuestStat


class MemoryView:
    """Read-only GuestView of ``files`` (guest path -> content); parent directories exist."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self._files = files
        self._dirs: dict[str, set[str]] = {"/": set()}
        for path in files:
            parts = path.strip("/").split("/")
            for depth in range(len(parts)):
                parent = "/" + "/".join(parts[:depth])
                self._dirs.setdefault(parent.rstrip("/") or "/", set()).add(parts[depth])

    def read_file(self, path: str, max_bytes: int) -> bytes | None:
        data = self._files.get(path)
        if data is not None and len(data) > max_bytes:
            raise GuestFileTooLarge(f"{path}: larger than {max_bytes} bytes")
        return data

    def list_dir(self, path: str) -> list[str] | None:
        names = self._dirs.get(path.rstrip("/") or "/")
        return sorted(names) if names is not None else None

    def stat(self, path: str, *, follow: bool = True) -> GuestStat | None:
        if path in self._files:
            return GuestStat(stat.S_IFREG | 0o644, len(self._files[path]), 0, 0, 0, 1)
        if (path.rstrip("/") or "/") in self._dirs:
            return GuestStat(stat.S_IFDIR | 0o755, 0, 0, 0, 0, 1)
        return None

    def readlink(self, path: str) -> str | None:
        return None
