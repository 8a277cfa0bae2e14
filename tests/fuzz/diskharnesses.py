"""Fuzz harnesses of the disk readers added after the first campaign: btrfs, LUKS unlocking
and BitLocker detection, each through the entry point ``scan``/``inspect`` use.

Their inputs are packed images (``packed.py``): the real tools' images are megabytes of
zeros around a few dozen blocks of structure. Nothing here opens a host path.
"""

from __future__ import annotations

import itertools
import stat
from collections.abc import Iterator
from typing import Any

from vmguard.disk.btrfs.filesystem import BtrfsFilesystem
from vmguard.disk.filesystems import detect_filesystem, open_filesystem
from vmguard.disk.limits import DEFAULT_LIMITS
from vmguard.disk.source import ByteSource
from vmguard.disk.volumes import luks_kdf, luks_unlock
from vmguard.disk.volumes.luks_unlock import VolumeSecret
from vmguard.disk.volumes.scan import scan_volumes
from vmguard.errors import VmguardError

from .packed import PackedSource

PASSPHRASE = b"correct horse"
"""What seeds.py formats the LUKS seeds with; the harness unlocks with it."""
MAX_NODES = 64
FUZZ_KDF_SECONDS = 0.05
"""Estimated KDF time one derivation may take under the fuzzer. The production bounds (30 s
per derivation, 90 s per volume) are tested in tests/disk/volumes; here an input asking for
more than this is refused with the same LimitExceeded, before any work, so that a mutated
iteration count costs nothing instead of 30 s per execution."""


def walk_filesystem(source: ByteSource) -> Any:
    """Signature, open, then a bounded walk reading what GuestFS reads of each node; the
    opened filesystem (None when no filesystem was recognised)."""
    signature = detect_filesystem(source)
    if not signature.kind:
        return None
    fs = open_filesystem(source, signature)
    for node in itertools.islice(_walk(fs, [fs.root]), MAX_NODES):
        info = fs.stat(node)
        if stat.S_ISLNK(info.mode):
            fs.readlink(node)
        elif stat.S_ISREG(info.mode) and info.size:
            fs.read(node, 0, 4096)
            fs.read(node, max(0, info.size - 4096), 4096)  # a later extent, maybe compressed
            list(itertools.islice(fs.extents(node), 8))
        if isinstance(fs, BtrfsFilesystem):
            fs.xattrs(node)
    return fs


def _walk(fs: Any, pending: list[Any]) -> Iterator[Any]:
    while pending:
        node = pending.pop()
        yield node
        try:
            children = fs.children(node)
        except VmguardError:
            continue
        pending.extend(list(children.values())[:16])


def fuzz_btrfs(data: bytes) -> None:
    """A btrfs volume: superblock, chunk and root trees, the default subvolume walked and its
    files read (inline, regular and compressed extents), then every other subvolume's root."""
    fs = walk_filesystem(PackedSource(data))
    if isinstance(fs, BtrfsFilesystem):
        for ident in fs.subvolume_ids()[:8]:
            view = fs.subvolume(ident=ident)
            view.children(view.root)


def fuzz_luks_unlock(data: bytes) -> None:
    """LUKS1/LUKS2 headers, key slots, digests and the data segment, as ``--key-file``
    opens them: the volume scan with the seeds' passphrase, then the plaintext read."""
    saved = luks_kdf.MAX_KDF_SECONDS, luks_unlock.MAX_UNLOCK_SECONDS
    luks_kdf.MAX_KDF_SECONDS = luks_unlock.MAX_UNLOCK_SECONDS = FUZZ_KDF_SECONDS
    try:
        layout = scan_volumes(
            PackedSource(data), limits=DEFAULT_LIMITS, secrets=(VolumeSecret(PASSPHRASE),)
        )
    finally:
        luks_kdf.MAX_KDF_SECONDS, luks_unlock.MAX_UNLOCK_SECONDS = saved
    for volume in layout.volumes[:4]:
        volume.source.read_at(0, 8192)
        volume.source.read_at(max(0, volume.size - 5000), 5000)


def fuzz_bitlocker(data: bytes) -> None:
    """BitLocker boot records and FVE metadata, through the volume scan and the filesystem
    signature check (where a BitLocker volume must not be read as FAT or NTFS)."""
    source = PackedSource(data)
    scan_volumes(source, limits=DEFAULT_LIMITS)
    detect_filesystem(source)
