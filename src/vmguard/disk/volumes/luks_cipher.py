"""dm-crypt sector ciphers (as cryptsetup names them) and the LUKS anti-forensic merge.

Supported: AES in XTS or CBC mode with the plain, plain64 or essiv:<hash> IV generators,
the combinations cryptsetup has used by default (aes-xts-plain64 since 1.6, aes-cbc-essiv:
sha256 before). Serpent and Twofish are not in the ``cryptography`` library and no
permissively licensed maintained implementation is available: they are refused by name, as
is every other spec (random IVs, authenticated modes, kernel crypto API names).

This module must never see or keep a passphrase; it gets derived keys only.
"""

from __future__ import annotations

import hashlib
from array import array
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from vmguard.disk.errors import UnsupportedFormat

_IV_GENERATORS = ("plain", "plain64", "plain64be")
_ESSIV_HASHES = ("sha1", "sha256", "sha512")


def _xor(a: bytes, b: bytes) -> bytes:
    """Byte-wise XOR of equal-length buffers (one big-integer operation, C speed)."""
    return (int.from_bytes(a, "little") ^ int.from_bytes(b, "little")).to_bytes(len(a), "little")


class SectorCipher:
    """Decrypts whole sectors of one dm-crypt cipher spec with one key."""

    def __init__(self, spec: str, key: bytes) -> None:
        parts = spec.lower().split("-")
        if len(parts) != 3:
            raise UnsupportedFormat(f"LUKS cipher {spec[:40]!r} is not supported")
        name, mode, iv = parts
        if name != "aes":
            known = name in ("serpent", "twofish", "camellia", "cast5", "blowfish")
            why = "not available in the cryptography library" if known else "unknown"
            raise UnsupportedFormat(f"LUKS cipher {spec[:40]!r} is not supported ({why})")
        iv_name, _, essiv_hash = iv.partition(":")
        if mode not in ("xts", "cbc") or not (
            iv_name in _IV_GENERATORS or (iv_name == "essiv" and essiv_hash in _ESSIV_HASHES)
        ):
            raise UnsupportedFormat(f"LUKS cipher mode {spec[:40]!r} is not supported")
        if len(key) not in ((32, 64) if mode == "xts" else (16, 24, 32)):
            raise UnsupportedFormat(f"LUKS cipher {spec[:40]!r} with a {len(key)}-byte key")
        self._mode, self._iv = mode, iv_name
        half = len(key) // 2 if mode == "xts" else len(key)
        # Whole reads go through ECB in one call and the chaining (CBC) or tweaks (XTS) are
        # applied around it: one cipher call per read instead of one per sector.
        self._data = Cipher(algorithms.AES(key[:half]), modes.ECB())  # noqa: S305
        self._tweak = Cipher(algorithms.AES(key[half:]), modes.ECB()) if mode == "xts" else None  # noqa: S305
        self._essiv = None
        if iv_name == "essiv":
            salt = hashlib.new(essiv_hash, key).digest()
            if len(salt) not in (16, 24, 32):
                raise UnsupportedFormat(f"LUKS ESSIV hash {essiv_hash!r} gives no AES key")
            self._essiv = Cipher(algorithms.AES(salt), modes.ECB())  # noqa: S305

    def _ivs(self, first_iv: int, count: int, step: int) -> bytes:
        """The 16-byte IVs of ``count`` sectors, concatenated."""
        numbers = [first_iv + k * step for k in range(count)]
        if self._iv == "plain":
            return b"".join((n & 0xFFFFFFFF).to_bytes(16, "little") for n in numbers)
        if self._iv == "plain64be":
            return b"".join(bytes(8) + (n & _U64).to_bytes(8, "big") for n in numbers)
        ivs = b"".join((n & _U64).to_bytes(16, "little") for n in numbers)
        if self._essiv is not None:
            return _ecb(self._essiv, ivs, encrypt=True)
        return ivs

    def decrypt(self, data: bytes, first_iv: int, sector_size: int) -> bytes:
        """Decrypt ``data`` (whole sectors). IVs count 512-byte units from ``first_iv``, as
        dm-crypt counts them without ``iv_large_sectors`` (LUKS1 and LUKS2 alike)."""
        count = len(data) // sector_size
        if count == 0:
            return b""
        ivs = self._ivs(first_iv, count, sector_size // 512)
        if self._tweak is None:  # CBC: P_i = D(C_i) xor C_(i-1), the IV before each sector
            chained = b"".join(
                ivs[k * 16 : k * 16 + 16] + data[k * sector_size : (k + 1) * sector_size - 16]
                for k in range(count)
            )
            return _xor(_ecb(self._data, data, encrypt=False), chained)
        tweaks = _xts_tweaks(_ecb(self._tweak, ivs, encrypt=True), count, sector_size // 16)
        return _xor(_ecb(self._data, _xor(data, tweaks), encrypt=False), tweaks)


_U64 = (1 << 64) - 1


def _ecb(cipher: Cipher[modes.ECB], data: bytes, *, encrypt: bool) -> bytes:
    context = cipher.encryptor() if encrypt else cipher.decryptor()
    return context.update(data) + context.finalize()


def _xts_tweaks(first: bytes, sectors: int, blocks: int) -> bytes:
    """XTS tweak of every 16-byte block: block j of sector s gets T_s * alpha^j in GF(2^128).

    All sectors' tweaks are one integer of 128-bit little-endian lanes, doubled lane-wise
    (shift, and 0x87 where a lane's top bit carried out), ``blocks`` times.
    """
    lanes = int.from_bytes(first, "little")
    top_bits = int.from_bytes((bytes(15) + b"\x80") * sectors, "little")
    # 8-byte words, copied (never interpreted) column by column into sector-major order.
    out = array("Q", bytes(sectors * blocks * 16))
    stride = blocks * 2
    for j in range(blocks):
        column = array("Q", lanes.to_bytes(sectors * 16, "little"))
        out[2 * j :: stride] = column[0::2]
        out[2 * j + 1 :: stride] = column[1::2]
        carry = lanes & top_bits
        lanes = ((lanes ^ carry) << 1) ^ ((carry >> 127) * 0x87)
    return out.tobytes()


def _diffuse(block: bytes, base: Any) -> bytes:
    """LUKS AF diffusion; ``base`` is an empty hash object of the AF hash (copied per chunk,
    which is several times cheaper than constructing one by name)."""
    size = base.digest_size
    out = []
    for j in range(0, len(block), size):
        chunk = block[j : j + size]
        digest = base.copy()
        digest.update((j // size).to_bytes(4, "big") + chunk)
        out.append(digest.digest()[: len(chunk)])
    return b"".join(out)


def af_merge(material: bytes, key_bytes: int, stripes: int, hash_name: str) -> bytes:
    """The key the anti-forensic splitter spread over ``stripes`` blocks (LUKS AF merge)."""
    if hash_name not in hashlib.algorithms_available:
        raise UnsupportedFormat(f"LUKS anti-forensic hash {hash_name[:16]!r} is not supported")
    base = hashlib.new(hash_name)
    d = bytes(key_bytes)
    for i in range(stripes - 1):
        d = _diffuse(_xor(d, material[i * key_bytes : (i + 1) * key_bytes]), base)
    return _xor(d, material[(stripes - 1) * key_bytes : stripes * key_bytes])
