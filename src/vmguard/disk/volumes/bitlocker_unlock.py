"""Open a BitLocker volume with a recovery password, password or startup key the user gave,
through libbde.

libbde (libyal, LGPL; the ``libbde-python`` bindings) reads the FVE metadata, stretches the
secret (2^20 SHA-256 rounds per key protector tried), unseals the volume master key and the
full volume encryption key, and decrypts sectors; vmguard gives it the volume as a file
object and reads the plaintext back through it. A passphrase-file line of eight dash-joined
six-digit groups is tried as a recovery password, any other as a password; a key file that
holds a recovery password anywhere in its text (the recovery key ``.TXT`` file Windows
saves, UTF-16 with a byte order mark) is tried as one, any other text key file whole as a
password, as cryptsetup uses it; a startup key (a ``.BEK`` key file) unseals its key
protector directly. Before any key derivation the key protectors are counted: more
derivations than ``MAX_KEY_DERIVATIONS`` are refused, so a hostile volume with hundreds of
protectors costs nothing.

This module must never log, store, print or put in an error message a secret or a key, and
never hand libbde a host path: it gets the volume's own bytes as a file object, and a
startup key (which libbde reads only from a path) as an anonymous in-memory file
(``memfd``), never written to disk.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Sequence
from typing import Any

from vmguard.disk.errors import CorruptImage, LimitExceeded, UnsupportedFormat
from vmguard.disk.source import ByteSource, SourceFile, clamp
from vmguard.disk.volumes.luks_unlock import UnlockedVolume, VolumeSecret

MAX_KEY_DERIVATIONS = 16
"""Key protectors tried per volume over all secrets: libbde spends 1-3 s on each."""
_RECOVERY_PASSWORD = re.compile(r"(?<!\d)\d{6}(?:-\d{6}){7}(?!\d)")
_SECTOR = 512
_STARTUP_KEY_TYPE = 0x0200
_RECOVERY_TYPE = 0x0800
_PASSWORD_TYPE = 0x2000
_DERIVED = (_RECOVERY_TYPE, _PASSWORD_TYPE)
_NAMES = {_STARTUP_KEY_TYPE: "startup key", _RECOVERY_TYPE: "recovery password"}
_MAX_STARTUP_KEY = 64 * 1024


class BitLockerPlaintext:
    """The decrypted BitLocker volume, read through an unlocked libbde volume.

    Reads go to libbde in whole 512-byte sectors: libbde 20260916 returns wrong bytes after
    the first sector boundary of a read that starts inside a sector (measured: a read at
    3 MiB + 17 is right up to 3 MiB + 512, then differs from what cryptsetup's mapping and
    the plaintext give)."""

    def __init__(self, volume: Any) -> None:
        self._volume = volume
        self._size = int(volume.get_size())

    @property
    def size(self) -> int:
        return self._size

    def read_at(self, offset: int, length: int) -> bytes:
        n = clamp(offset, length, self._size)
        if n == 0:
            return b""
        first = offset - offset % _SECTOR
        end = min(self._size, -(-(offset + n) // _SECTOR) * _SECTOR)
        try:
            sectors = bytes(self._volume.read_buffer_at_offset(end - first, first))
            return sectors[offset - first : offset - first + n]
        except OSError as err:
            raise CorruptImage(f"BitLocker: cannot decrypt at offset {offset}") from err


def _text(material: bytes) -> str | None:
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if material.startswith(bom):
            material, encoding = material[2:], codec
            break
    else:
        encoding = "utf-8"
    try:
        return material.decode(encoding)
    except UnicodeDecodeError:
        return None


def is_startup_key(material: bytes) -> bool:
    """A BitLocker External Key (.BEK) file: its header gives the file's size, version 1 and
    the 48-byte header size."""
    return 56 <= len(material) <= _MAX_STARTUP_KEY and struct.unpack_from("<III", material) == (
        len(material),
        1,
        48,
    )


def _candidates(secrets: Sequence[VolumeSecret]) -> list[tuple[int, str | bytes]]:
    """(protector type, secret) for every secret that can open a BitLocker key protector."""
    found: list[tuple[int, str | bytes]] = []
    for secret in secrets:
        if secret.origin == "key file" and is_startup_key(secret.material):
            found.append((_STARTUP_KEY_TYPE, secret.material))
            continue
        text = _text(secret.material)
        if not text or "\0" in text:
            continue  # binary, and not a startup key: nothing libbde takes
        recovery = _RECOVERY_PASSWORD.search(text)
        if recovery and (secret.origin == "key file" or recovery.group() == text.strip()):
            found.append((_RECOVERY_TYPE, recovery.group()))
        else:
            found.append((_PASSWORD_TYPE, text))
    return found


def _give_startup_key(volume: Any, material: bytes) -> None:
    """libbde reads a startup key only from a path: an anonymous in-memory file it is."""
    fd = os.memfd_create("vmguard-startup-key", os.MFD_CLOEXEC)
    try:
        view = memoryview(material)
        while view:
            view = view[os.write(fd, view) :]
        volume.read_startup_key(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)


def _open(pybde: Any, source: ByteSource, kind: int | None, secret: str | bytes) -> Any:
    volume = pybde.volume()
    if isinstance(secret, bytes):
        _give_startup_key(volume, secret)
    elif kind == _RECOVERY_TYPE:
        volume.set_recovery_password(secret)
    elif kind == _PASSWORD_TYPE:
        volume.set_password(secret)
    try:
        volume.open_file_object(SourceFile(source))
    except OSError as err:
        raise CorruptImage("BitLocker metadata that libbde cannot read") from err
    return volume


def unlock_bitlocker(source: ByteSource, secrets: Sequence[VolumeSecret]) -> UnlockedVolume | None:
    """The plaintext of ``source`` if one of ``secrets`` opens a key protector, else None.

    Raises ``UnsupportedFormat`` without libbde-python, ``CorruptImage`` for metadata libbde
    cannot read, and ``LimitExceeded`` when trying every secret would take more than
    ``MAX_KEY_DERIVATIONS`` key derivations."""
    try:
        import pybde
    except ImportError:
        raise UnsupportedFormat(
            "BitLocker unlocking needs libbde-python (pip install libbde-python)"
        ) from None
    candidates = _candidates(secrets)
    if not candidates:
        return None
    closed = _open(pybde, source, None, "")
    try:
        types = [int(p.type) for p in closed.key_protectors]
    finally:
        closed.close()
    derivations = sum(types.count(kind) for kind, _ in candidates if kind in _DERIVED)
    if derivations > MAX_KEY_DERIVATIONS:
        raise LimitExceeded(
            f"BitLocker: {derivations} key derivations to try these secrets on its "
            f"{len(types)} key protectors (at most {MAX_KEY_DERIVATIONS}); not tried"
        )
    for kind, secret in candidates:
        if kind not in types:
            continue
        try:
            volume = _open(pybde, source, kind, secret)
        except OSError:  # a startup key libbde does not take: try the next secret
            continue
        if not volume.is_locked():
            return UnlockedVolume(BitLockerPlaintext(volume), _NAMES.get(kind, "password"))
        volume.close()
    return None
