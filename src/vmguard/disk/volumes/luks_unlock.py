"""Open a LUKS1/LUKS2 volume with a key the user gave: the decrypted data segment as a source.

For each secret and each active key slot (LUKS2 priority order), the slot's KDF cost is
bounded first (``luks_kdf``), the key material is decrypted with the derived key, merged
(anti-forensic splitter) and accepted only if the volume key matches the header's digest.
The whole attempt is bounded by ``MAX_UNLOCK_SECONDS`` of estimated KDF work.

This module must never log, store, print or put in an error message a secret or a key; the
``VolumeSecret`` it receives hides its bytes from ``repr``.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vmguard.disk.errors import CorruptImage, LimitExceeded, UnsupportedFormat
from vmguard.disk.source import ByteSource, SliceSource, clamp
from vmguard.disk.volumes.luks_cipher import SectorCipher, af_merge
from vmguard.disk.volumes.luks_header import (
    SECTOR,
    Kdf,
    Keyslot,
    LuksMetadata,
    read_luks_metadata,
)
from vmguard.disk.volumes.luks_kdf import derive, kdf_seconds
from vmguard.userfiles import read_first_line, read_user_file

MAX_UNLOCK_SECONDS = 90.0
"""Estimated KDF work spent on one volume, over every secret and key slot tried."""


@dataclass(frozen=True, slots=True)
class VolumeSecret:
    """A passphrase or key file's bytes, as the LUKS KDF takes them. Never shown."""

    material: bytes = field(repr=False)
    origin: str = "key file"
    """Where it came from, for messages ("key file", "passphrase file")."""


MAX_SECRET_BYTES = 8 * 1024 * 1024
"""cryptsetup's default key file size limit."""


def secrets_from_files(
    key_files: Sequence[Path], passphrase_files: Sequence[Path]
) -> tuple[VolumeSecret, ...]:
    """The secrets in files the user named, key files first. A key file is used whole, as
    ``cryptsetup --key-file`` uses it; a passphrase file is its first line without the line
    ending, as typed at a prompt. ``UserFileError`` for an unreadable, empty or huge file."""
    secrets = [
        VolumeSecret(read_user_file(p, "key file", MAX_SECRET_BYTES, allow_empty=False))
        for p in key_files
    ]
    for path in passphrase_files:
        line = read_first_line(path, "passphrase file", MAX_SECRET_BYTES)
        secrets.append(VolumeSecret(line, "passphrase file"))
    return tuple(secrets)


class DecryptedSource:
    """The plaintext of a dm-crypt data segment, decrypted sector by sector on read."""

    def __init__(
        self, ciphertext: ByteSource, cipher: SectorCipher, sector_size: int, iv_offset: int
    ) -> None:
        self._ciphertext = ciphertext
        self._cipher = cipher
        self._sector = sector_size
        self._iv_offset = iv_offset
        """IV (in 512-byte units) of the segment's first sector."""
        self._size = ciphertext.size - ciphertext.size % sector_size

    @property
    def size(self) -> int:
        return self._size

    def read_at(self, offset: int, length: int) -> bytes:
        n = clamp(offset, length, self._size)
        if n == 0:
            return b""
        first = offset // self._sector
        last = (offset + n - 1) // self._sector
        raw = self._ciphertext.read_at(first * self._sector, (last - first + 1) * self._sector)
        first_iv = self._iv_offset + first * self._sector // SECTOR
        plain = self._cipher.decrypt(raw, first_iv, self._sector)
        skip = offset - first * self._sector
        return plain[skip : skip + n]


@dataclass(frozen=True, slots=True)
class UnlockedVolume:
    """A LUKS volume opened with a user's secret."""

    plaintext: ByteSource
    keyslot: str
    """The key slot that opened it."""


def _volume_key(source: ByteSource, slot: Keyslot, secret: bytes) -> bytes:
    """The candidate volume key stored in ``slot`` under ``secret`` (unchecked)."""
    slot_key = derive(slot.kdf, secret, slot.area_key_bytes)
    length = slot.key_bytes * slot.stripes
    padded = -(-length // SECTOR) * SECTOR
    encrypted = source.read_at(slot.area_offset, padded)
    if len(encrypted) < padded:
        raise CorruptImage(f"LUKS key slot {slot.name}: key material truncated")
    material = SectorCipher(slot.area_cipher, slot_key).decrypt(encrypted, 0, SECTOR)
    return af_merge(material[:length], slot.key_bytes, slot.stripes, slot.af_hash)


def _digest_matches(meta: LuksMetadata, slot: Keyslot, key: bytes) -> bool:
    for digest in meta.digests:
        if slot.name not in digest.keyslots:
            continue
        kdf = Kdf("pbkdf2", digest.salt, digest.hash, digest.iterations)
        if hmac.compare_digest(derive(kdf, key, len(digest.value)), digest.value):
            return True
    return False


def _ordered_slots(meta: LuksMetadata) -> list[Keyslot]:
    return sorted((s for s in meta.keyslots if s.priority > 0), key=lambda s: -s.priority)


def unlock_luks(source: ByteSource, secrets: Sequence[VolumeSecret]) -> UnlockedVolume | None:
    """The plaintext of ``source`` if one of ``secrets`` opens a key slot, else None.

    Raises ``CorruptImage`` for a header that does not hold, ``LimitExceeded`` when nothing
    opened and a slot's KDF cost more than allowed (so it was not tried), and
    ``UnsupportedFormat`` for a cipher not read.
    """
    meta = read_luks_metadata(source)
    segment = meta.segment
    budget = MAX_UNLOCK_SECONDS
    refused: list[str] = []
    for slot in _ordered_slots(meta):
        try:
            cost = kdf_seconds(slot.kdf)
            for digest in meta.digests:
                if slot.name in digest.keyslots:
                    cost += kdf_seconds(Kdf("pbkdf2", digest.salt, digest.hash, digest.iterations))
        except LimitExceeded as err:
            refused.append(f"key slot {slot.name}: {err}")
            continue
        for secret in secrets:
            if cost > budget:
                raise LimitExceeded(
                    f"LUKS unlocking would spend more than {MAX_UNLOCK_SECONDS:.0f} s of key "
                    "derivation; stopped"
                )
            budget -= cost
            try:
                key = _volume_key(source, slot, secret.material)
                if not _digest_matches(meta, slot, key):
                    continue
            except ValueError as err:  # a hash or key the primitives reject
                raise UnsupportedFormat(f"LUKS key slot {slot.name}: {err}") from None
            cipher = SectorCipher(segment.cipher, key)
            end = source.size if segment.size is None else segment.offset + segment.size
            ciphertext = SliceSource(source, segment.offset, end - segment.offset)
            plaintext = DecryptedSource(ciphertext, cipher, segment.sector_size, segment.iv_tweak)
            return UnlockedVolume(plaintext, slot.name)
    if refused:  # the key may be in a slot that was too costly to try: say so
        raise LimitExceeded("no key slot tried opened; refused " + "; ".join(refused))
    return None
