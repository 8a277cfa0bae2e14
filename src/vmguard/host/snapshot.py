"""A snapshot of the hypervisor's files: every file of the hypervisor packages and every
entry under the hypervisor's directories, with digests that let a later comparison say
which bytes or lines changed.

Regular files get a SHA-256, SHA-256 digests of each 64 KiB chunk (cut to 128 bits) and,
for text under /etc of at most 1 MiB, a digest per line (cut to 64 bits), so no content is
stored. Links are recorded with their target and never followed; a walk never leaves the
root, goes at most ``MAX_DEPTH`` deep and records at most ``MAX_ENTRIES`` entries. This
module must never write to the host.
"""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Iterable
from dataclasses import dataclass, replace

from vmguard.host.errors import BaselineError
from vmguard.host.packages import read_hypervisor_packages
from vmguard.host.root import HostRoot, join

CHUNK = 64 * 1024
MAX_FILE_BYTES = 4 * 1024 * 1024 * 1024
MAX_LINED_BYTES = 1024 * 1024
MAX_ENTRIES = 200_000
MAX_DEPTH = 32
HYPERVISOR_DIRS = (
    "/etc/libvirt",
    "/etc/qemu",
    "/etc/apparmor.d/libvirt",
    "/usr/lib/libvirt",
    "/usr/lib64/libvirt",
    "/usr/lib/qemu",
    "/usr/lib64/qemu-kvm",
    "/usr/libexec/qemu-kvm",
    "/usr/share/qemu",
    "/usr/share/OVMF",
    "/usr/share/ovmf",
    "/usr/share/edk2",
    "/usr/share/seabios",
)
"""Directories whose every entry is recorded: an added file there (a libvirt hook, a
connection driver, a QEMU module, a firmware descriptor) changes what the VMM runs."""
MULTIARCH_SUBDIRS = ("libvirt", "qemu")
"""Also walked under each /usr/lib/<triplet>/ (Debian's multiarch library directories)."""
HYPERVISOR_FILES = (
    "/etc/apparmor.d/usr.sbin.libvirtd",
    "/etc/apparmor.d/abstractions/libvirt-qemu",
    "/etc/default/libvirtd",
    "/etc/sysconfig/libvirtd",
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One recorded path."""

    path: str
    kind: str
    """file, link, dir or other."""
    mode: int
    """Permission bits (``S_IMODE``)."""
    uid: int
    gid: int
    size: int = 0
    sha256: str = ""
    target: str = ""
    """Link target as stored (links only)."""
    chunks: tuple[str, ...] = ()
    """Digests of each ``CHUNK`` bytes (files)."""
    lines: tuple[str, ...] = ()
    """Digests of each line (small text files under /etc)."""
    package: str = ""
    """The hypervisor package that installed it, if any."""


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISLNK(mode):
        return "link"
    return "dir" if stat.S_ISDIR(mode) else "other"


def _digests(root: HostRoot, path: str) -> tuple[str, tuple[str, ...], tuple[str, ...], int]:
    handle = root.open_regular(path)
    if handle is None:
        raise BaselineError(f"{path}: vanished or changed type while being recorded")
    whole = hashlib.sha256()
    chunks: list[str] = []
    kept: list[bytes] = []
    total = 0
    keep_lines = path.startswith("/etc/")
    with handle:
        while chunk := handle.read(CHUNK):
            total += len(chunk)
            if total > MAX_FILE_BYTES:
                raise BaselineError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
            whole.update(chunk)
            chunks.append(hashlib.sha256(chunk).hexdigest()[:32])
            keep_lines = keep_lines and total <= MAX_LINED_BYTES and b"\0" not in chunk
            if keep_lines:
                kept.append(chunk)
    lines: tuple[str, ...] = ()
    if keep_lines:
        lines = tuple(hashlib.sha256(line).hexdigest()[:16] for line in b"".join(kept).split(b"\n"))
    return whole.hexdigest(), tuple(chunks), lines, total


def record(root: HostRoot, path: str, package: str = "") -> Entry | None:
    """The entry of one path (links not followed), None when it does not exist."""
    info = root.stat(path, follow=False)
    if info is None:
        return None
    kind = _kind(info.mode)
    entry = Entry(path, kind, stat.S_IMODE(info.mode), info.uid, info.gid, package=package)
    if kind == "link":
        return replace(entry, target=root.readlink(path) or "")
    if kind != "file":
        return entry
    sha256, chunks, lines, size = _digests(root, path)
    return replace(entry, size=size, sha256=sha256, chunks=chunks, lines=lines)


def _walk(root: HostRoot, top: str, found: dict[str, str]) -> None:
    """Paths under ``top`` (not following links) into ``found``, bounded."""
    pending = [(top, 0)]
    while pending:
        directory, depth = pending.pop()
        for name in root.list_dir(directory) or []:
            path = join(directory, name)
            if len(found) >= MAX_ENTRIES:
                raise BaselineError(f"more than {MAX_ENTRIES} hypervisor files under {top}")
            found.setdefault(path, "")
            info = root.stat(path, follow=False)
            if info is not None and stat.S_ISDIR(info.mode) and depth < MAX_DEPTH:
                pending.append((path, depth + 1))


def hypervisor_dirs(root: HostRoot) -> tuple[str, ...]:
    """The hypervisor directories present under the root (multiarch ones included)."""
    dirs = list(HYPERVISOR_DIRS)
    for triplet in root.list_dir("/usr/lib") or []:
        if triplet.endswith("-linux-gnu") or triplet.endswith("-linux-gnueabihf"):
            dirs += [f"/usr/lib/{triplet}/{sub}" for sub in MULTIARCH_SUBDIRS]
    return tuple(d for d in dirs if root.list_dir(d) is not None)


def hypervisor_paths(root: HostRoot, extra: Iterable[str] = ()) -> dict[str, str]:
    """Path -> installing package for every hypervisor file and directory entry."""
    found: dict[str, str] = {}
    for file in read_hypervisor_packages(root).files:
        found[file.path] = file.package
    for path in (*HYPERVISOR_FILES, *extra):
        found.setdefault(path, "")
    for directory in hypervisor_dirs(root):
        _walk(root, directory, found)
    return found


def snapshot(root: HostRoot, paths: dict[str, str]) -> tuple[Entry, ...]:
    """Entries of every existing path of ``paths``, sorted by path."""
    entries = (record(root, path, package) for path, package in sorted(paths.items()))
    return tuple(e for e in entries if e is not None)
