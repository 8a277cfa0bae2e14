"""ext feature bits that libfsext refuses although reading a filesystem never depends on them.

libfsext (20240301) rejects any superblock, primary or backup, that sets a feature flag it
does not know. Five such flags are set by real systems and change nothing a reader of a
quiescent filesystem looks at:

- ``sparse_super2`` (compat 0x200): at most two backup superblocks, in groups the superblock
  names; readers use the primary (vmguard's free-space map reads the raw volume, not this
  view);
- ``fast_commit`` (compat 0x400): an extra journal area; vmguard never replays journals;
- ``stable_inodes`` (compat 0x800): a promise that inode numbers never change (fscrypt's
  IV_INO_LBLK policies); nothing on disk is laid out differently;
- ``mmp`` (incompat 0x100): multi-mount protection for shared storage, one block a
  mounting host keeps updating; an offline reader never mounts;
- ``large_dir`` (incompat 0x4000): htrees of three levels and directories over 2 GiB.
  Htree index blocks look like ordinary directory blocks to a linear reader (that is how
  ext4 keeps htree compatible), which is how libfsext lists directories; only a directory
  larger than 4 GiB (about 100 million entries) would be cut short.

``with_readable_features`` serves the volume's bytes with exactly those bits cleared in every
superblock copy, so libfsext opens it; every other byte, and every other unknown feature
(which may change the layout), is passed through untouched and still refused. libfsext does
not check superblock checksums (measured with metadata_csum on), so none is recomputed.
"""

from __future__ import annotations

from vmguard.disk.errors import CorruptImage
from vmguard.disk.source import ByteSource

SUPERBLOCK = 1024
_MAGIC_AT, _MAGIC = 0x38, b"\x53\xef"
_FEATURES_AT = 0x5C
"""compat (u32), then incompat (u32)."""
COMPAT_SPARSE_SUPER2 = 0x200
COMPAT_FAST_COMMIT = 0x400
COMPAT_STABLE_INODES = 0x800
INCOMPAT_MMP = 0x100
INCOMPAT_LARGEDIR = 0x4000
_COMPAT_MASK = COMPAT_SPARSE_SUPER2 | COMPAT_FAST_COMMIT | COMPAT_STABLE_INODES
_INCOMPAT_MASK = INCOMPAT_MMP | INCOMPAT_LARGEDIR
_RO_COMPAT_SPARSE_SUPER = 0x1
_INCOMPAT_64BIT = 0x80


def _u32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 4], "little")


def _is_power_of(n: int, base: int) -> bool:
    while n > 1 and n % base == 0:
        n //= base
    return n == 1


class _MaskedFeatures:
    """A volume whose superblock copies read with the harmless feature bits cleared."""

    def __init__(self, source: ByteSource, sb: bytes) -> None:
        self._source = source
        self._block = 1024 << min(_u32(sb, 0x18), 16)
        self._per_group = max(_u32(sb, 0x20), 1)
        self._first = _u32(sb, 0x14)
        compat, ro_compat = _u32(sb, 0x5C), _u32(sb, 0x64)
        self._sparse = bool(ro_compat & _RO_COMPAT_SPARSE_SUPER)
        self._backups = (
            frozenset({_u32(sb, 0x24C), _u32(sb, 0x250)}) - {0}
            if compat & COMPAT_SPARSE_SUPER2
            else None
        )

    @property
    def size(self) -> int:
        return self._source.size

    def _has_copy(self, group: int) -> bool:
        """Whether a superblock copy may sit at the start of ``group``: where ext4 puts
        backups, and also where libfsext looks for them (the sparse_super groups even under
        sparse_super2, where a stale backup from before a resize may still hold the bits)."""
        if group == 0 or (self._backups is not None and group in self._backups):
            return True
        if not self._sparse and self._backups is None:
            return True
        return group == 1 or any(_is_power_of(group, b) for b in (3, 5, 7))

    def _copy_offset(self, group: int) -> int:
        if group == 0:
            return SUPERBLOCK
        return (self._first + group * self._per_group) * self._block

    def _groups_touching(self, offset: int, end: int) -> range:
        """Groups whose first block's feature words may overlap ``[offset, end)``."""
        span = self._per_group * self._block
        base = self._first * self._block
        first = max((offset - _FEATURES_AT - 8 - base) // span, 1)
        last = (end - base) // span + 1
        return range(first, max(last + 1, first))

    def read_at(self, offset: int, length: int) -> bytes:
        data = self._source.read_at(offset, length)
        end = offset + len(data)
        patched: bytearray | None = None
        for group in (0, *self._groups_touching(offset, end)):
            words = self._copy_offset(group) + _FEATURES_AT
            lo, hi = max(words, offset), min(words + 8, end)
            if lo >= hi or not self._has_copy(group):
                continue
            start = words - _FEATURES_AT
            if self._source.read_at(start + _MAGIC_AT, 2) != _MAGIC:
                continue  # not a superblock where the geometry says one is: leave it alone
            original = self._source.read_at(words, 8)
            if len(original) < 8:
                continue
            compat = _u32(original, 0) & ~_COMPAT_MASK
            incompat = _u32(original, 4) & ~_INCOMPAT_MASK
            masked = compat.to_bytes(4, "little") + incompat.to_bytes(4, "little")
            if patched is None:
                patched = bytearray(data)
            patched[lo - offset : hi - offset] = masked[lo - words : hi - words]
        return bytes(patched) if patched is not None else data


def with_readable_features(source: ByteSource) -> ByteSource:
    """``source``, or a view of it that libfsext can open when only harmless bits stop it."""
    sb = source.read_at(SUPERBLOCK, 1024)
    if len(sb) < 1024 or sb[_MAGIC_AT : _MAGIC_AT + 2] != _MAGIC:
        return source
    if not (_u32(sb, 0x5C) & _COMPAT_MASK or _u32(sb, 0x60) & _INCOMPAT_MASK):
        return source
    return _MaskedFeatures(source, sb)


def refuse_oversized(source: ByteSource) -> None:
    """``CorruptImage`` when the superblock claims a filesystem more than twice the size of
    its volume (e2fsck calls any excess corruption). libfsext reads every group descriptor
    the claimed size implies: a 1 KiB input claiming 875 GB in 1 KiB blocks cost three
    seconds of reads (found by fuzzing), and time grows with the claim, not the input."""
    sb = source.read_at(SUPERBLOCK, 1024)
    if len(sb) < 1024 or sb[_MAGIC_AT : _MAGIC_AT + 2] != _MAGIC:
        return
    blocks = _u32(sb, 0x04)
    if _u32(sb, 0x60) & _INCOMPAT_64BIT:
        blocks |= _u32(sb, 0x150) << 32
    claimed = blocks * (1024 << min(_u32(sb, 0x18), 16))
    if claimed > 2 * source.size + (1 << 20):
        raise CorruptImage(
            f"ext superblock claims {claimed} bytes, more than twice its {source.size}-byte volume"
        )
