"""LUKS1 and LUKS2 headers parsed into what unlocking needs: key slots, digests, segments.

Only called when the user gave a key. Every field is untrusted: sizes, offsets, strings and
counts are checked here (LUKS2 header checksum, JSON size, key sizes, stripe counts, areas
inside the volume) and anything else is refused with ``CorruptImage``. KDF parameters are
carried as read; their cost is bounded by ``luks_kdf`` before any derivation.

This module must never derive a key or decrypt anything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import struct
from dataclasses import dataclass
from typing import Any

from vmguard.disk.errors import CorruptImage
from vmguard.disk.source import ByteSource
from vmguard.disk.volumes.luks import MAGIC, SECONDARY_MAGIC, SECONDARY_OFFSETS

SECTOR = 512
MAX_KEY_BYTES = 64
MAX_STRIPES = 4000
"""cryptsetup writes 4000 anti-forensic stripes, always; more is not LUKS as written."""
MAX_KEYSLOTS = 32
_LUKS1_ACTIVE = 0x00AC71F3
_LUKS1_KEYSLOT = struct.Struct(">II32sII")
_LUKS2_SIZES = tuple(0x4000 << i for i in range(9))
"""LUKS2 header (binary + JSON) sizes cryptsetup allows: 16 KiB .. 4 MiB."""


@dataclass(frozen=True, slots=True)
class Kdf:
    """How a passphrase becomes a key-slot key."""

    kind: str
    """"pbkdf2", "argon2i" or "argon2id"."""
    salt: bytes
    hash: str = ""
    """PBKDF2 hash name."""
    iterations: int = 0
    """PBKDF2 iterations, or argon2 time cost."""
    memory_kib: int = 0
    """argon2 memory cost."""
    lanes: int = 0
    """argon2 parallelism."""


@dataclass(frozen=True, slots=True)
class Keyslot:
    """One active key slot."""

    name: str
    kdf: Kdf
    key_bytes: int
    """Size of the volume key it stores."""
    stripes: int
    af_hash: str
    area_offset: int
    """Byte offset of the encrypted key material in the volume."""
    area_cipher: str
    """dm-crypt cipher spec of the key material, e.g. "aes-xts-plain64"."""
    area_key_bytes: int
    priority: int = 1
    """LUKS2 priority: 0 ignored, 1 normal, 2 preferred."""


@dataclass(frozen=True, slots=True)
class Digest:
    """The PBKDF2 digest that tells a right volume key from a wrong one."""

    keyslots: tuple[str, ...]
    hash: str
    iterations: int
    salt: bytes
    value: bytes


@dataclass(frozen=True, slots=True)
class Segment:
    """The encrypted data."""

    offset: int
    size: int | None
    """None: up to the end of the volume ("dynamic")."""
    cipher: str
    sector_size: int
    iv_tweak: int


@dataclass(frozen=True, slots=True)
class LuksMetadata:
    """Everything unlocking a LUKS volume reads from its header."""

    version: int
    keyslots: tuple[Keyslot, ...]
    digests: tuple[Digest, ...]
    segment: Segment


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def read_luks_metadata(source: ByteSource) -> LuksMetadata:
    """The key slots, digests and data segment of the LUKS volume at the start of ``source``."""
    head = source.read_at(0, 4096)
    if len(head) < 592 or head[:6] not in (MAGIC, SECONDARY_MAGIC):
        raise CorruptImage("no LUKS header")
    (version,) = struct.unpack_from(">H", head, 6)
    if version == 1 and head[:6] == MAGIC:
        return _luks1(head, source.size)
    if version == 2:
        return _luks2(source)
    raise CorruptImage(f"LUKS version {version} is not supported")


def _luks1(head: bytes, volume_size: int) -> LuksMetadata:
    cipher = f"{_text(head[8:40])}-{_text(head[40:72])}"
    hash_spec = _text(head[72:104])
    payload, key_bytes = struct.unpack_from(">II", head, 104)
    (digest_iterations,) = struct.unpack_from(">I", head, 164)
    _check_key_bytes(key_bytes)
    slots = []
    for i in range(8):
        active, iterations, salt, material, stripes = _LUKS1_KEYSLOT.unpack_from(head, 208 + 48 * i)
        if active != _LUKS1_ACTIVE:
            continue
        slot = Keyslot(
            str(i),
            Kdf("pbkdf2", salt, hash_spec, iterations),
            key_bytes,
            stripes,
            hash_spec,
            material * SECTOR,
            cipher,
            key_bytes,
        )
        slots.append(_checked_slot(slot, volume_size))
    digest = Digest(
        tuple(s.name for s in slots), hash_spec, digest_iterations, head[132:164], head[112:132]
    )
    segment = Segment(payload * SECTOR, None, cipher, SECTOR, 0)
    return LuksMetadata(1, tuple(slots), (digest,), _checked_segment(segment, volume_size))


def _luks2_header(source: ByteSource, offset: int) -> dict[str, Any] | None:
    """The JSON of the LUKS2 header copy at ``offset``, None when it is not a valid copy."""
    binary = source.read_at(offset, 4096)
    magic = MAGIC if offset == 0 else SECONDARY_MAGIC
    if len(binary) < 4096 or binary[:6] != magic or struct.unpack_from(">H", binary, 6)[0] != 2:
        return None
    (hdr_size,) = struct.unpack_from(">Q", binary, 8)
    (own_offset,) = struct.unpack_from(">Q", binary, 256)
    if hdr_size not in _LUKS2_SIZES or own_offset != offset or _text(binary[72:104]) != "sha256":
        return None
    whole = source.read_at(offset, hdr_size)
    if len(whole) < hdr_size:
        return None
    zeroed = whole[:448] + bytes(64) + whole[512:]
    if hashlib.sha256(zeroed).digest() != whole[448:480]:
        return None
    try:
        parsed = json.loads(whole[4096:].split(b"\0", 1)[0])
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _luks2(source: ByteSource) -> LuksMetadata:
    meta = _luks2_header(source, 0)
    for offset in SECONDARY_OFFSETS:
        if meta is not None or offset >= source.size:
            break
        meta = _luks2_header(source, offset)
    if meta is None:
        raise CorruptImage("no LUKS2 header copy with a valid checksum")
    try:
        return _luks2_metadata(meta, source.size)
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as err:
        raise CorruptImage(f"LUKS2 metadata invalid: {type(err).__name__}") from err


def _number(value: object) -> int:
    """A LUKS2 JSON number (decimal string for 64-bit values, or a JSON integer)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError("not a number")
    if isinstance(value, str) and not (value.isascii() and value.isdigit() and len(value) <= 20):
        raise ValueError("not a decimal number")
    return int(value)


def _luks2_metadata(meta: dict[str, Any], volume_size: int) -> LuksMetadata:
    if len(meta["keyslots"]) > MAX_KEYSLOTS or len(meta["digests"]) > MAX_KEYSLOTS:
        raise CorruptImage(f"LUKS2 header lists more than {MAX_KEYSLOTS} key slots or digests")
    slots = []
    for name, slot in sorted(meta["keyslots"].items()):
        if slot["type"] != "luks2" or slot["af"]["type"] != "luks1":
            continue  # reencryption and other special slots hold no volume key
        kdf_json, area = slot["kdf"], slot["area"]
        kind = kdf_json["type"]
        salt = base64.b64decode(kdf_json["salt"], validate=True)
        if kind == "pbkdf2":
            kdf = Kdf(kind, salt, str(kdf_json["hash"]), _number(kdf_json["iterations"]))
        elif kind in ("argon2i", "argon2id"):
            kdf = Kdf(
                kind,
                salt,
                "",
                _number(kdf_json["time"]),
                _number(kdf_json["memory"]),
                _number(kdf_json["cpus"]),
            )
        else:
            raise CorruptImage(f"LUKS2 key slot {name[:8]!r}: KDF {str(kind)[:16]!r} unknown")
        if area["type"] != "raw":
            raise CorruptImage(f"LUKS2 key slot area type {str(area['type'])[:16]!r} unsupported")
        key_bytes = _number(slot["key_size"])
        _check_key_bytes(key_bytes)
        parsed = Keyslot(
            str(name)[:8],
            kdf,
            key_bytes,
            _number(slot["af"]["stripes"]),
            str(slot["af"]["hash"]),
            _number(area["offset"]),
            str(area["encryption"]),
            _number(area["key_size"]),
            _number(slot.get("priority", 1)),
        )
        slots.append(_checked_slot(parsed, volume_size))
    digests = tuple(
        Digest(
            tuple(str(k) for k in d["keyslots"]),
            str(d["hash"]),
            _number(d["iterations"]),
            base64.b64decode(d["salt"], validate=True),
            base64.b64decode(d["digest"], validate=True),
        )
        for d in meta["digests"].values()
        if d["type"] == "pbkdf2"
    )
    crypt = [s for s in meta["segments"].values() if s["type"] == "crypt"]
    if len(meta["segments"]) != 1 or len(crypt) != 1:
        raise CorruptImage(
            "LUKS2 volume has several data segments or an unencrypted one "
            "(a reencryption in progress): not supported"
        )
    (seg,) = crypt
    if seg.get("integrity"):
        raise CorruptImage("LUKS2 volume with authenticated encryption (integrity) not supported")
    size = None if seg["size"] == "dynamic" else _number(seg["size"])
    segment = Segment(
        _number(seg["offset"]),
        size,
        str(seg["encryption"]),
        _number(seg.get("sector_size", SECTOR)),
        _number(seg.get("iv_tweak", 0)),
    )
    return LuksMetadata(2, tuple(slots), digests, _checked_segment(segment, volume_size))


def _check_key_bytes(key_bytes: int) -> None:
    if not 16 <= key_bytes <= MAX_KEY_BYTES:
        raise CorruptImage(f"LUKS key size {key_bytes} bytes outside 16..{MAX_KEY_BYTES}")


def _checked_slot(slot: Keyslot, volume_size: int) -> Keyslot:
    if not 1 <= slot.stripes <= MAX_STRIPES:
        raise CorruptImage(f"LUKS key slot {slot.name}: {slot.stripes} stripes (1..{MAX_STRIPES})")
    if not 16 <= slot.area_key_bytes <= MAX_KEY_BYTES:
        raise CorruptImage(f"LUKS key slot {slot.name}: area key size {slot.area_key_bytes}")
    end = slot.area_offset + slot.key_bytes * slot.stripes
    if slot.area_offset < SECTOR or slot.area_offset % SECTOR or end > volume_size:
        raise CorruptImage(f"LUKS key slot {slot.name}: key material outside the volume")
    return slot


def _checked_segment(segment: Segment, volume_size: int) -> Segment:
    size = segment.sector_size
    if size not in (512, 1024, 2048, 4096) or segment.offset % size:
        raise CorruptImage(f"LUKS data segment: sector size {size} or offset {segment.offset}")
    end = segment.offset + (segment.size or 0)
    if segment.offset >= volume_size or end > volume_size:
        raise CorruptImage("LUKS data segment lies outside the volume")
    return segment
