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

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from vmguard.disk.errors import UnsupportedFormat

_IV_GENERATORS = ("plain", "plain64", "plain64be")
_ESSIV_HASHES = ("sha1", "sha256", "sha512")


def _xor(a: bytes, b: bytes) -> bytes:
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
        self._algorithm = algorithms.AES(key)
        self._essiv = None
        if iv_name == "essiv":
            salt = hashlib.new(essiv_hash, key).digest()
            if len(salt) not in (16, 24, 32):
                raise UnsupportedFormat(f"LUKS ESSIV hash {essiv_hash!r} gives no AES key")
            self._essiv = Cipher(algorithms.AES(salt), modes.ECB())  # noqa: S305 (ESSIV is ECB of one block)

    def _iv_bytes(self, sector: int) -> bytes:
        if self._iv == "plain":
            return (sector & 0xFFFFFFFF).to_bytes(16, "little")
        if self._iv == "plain64be":
            return (sector & (1 << 64) - 1).to_bytes(8, "big") + bytes(8)
        iv = (sector & (1 << 64) - 1).to_bytes(16, "little")
        if self._essiv is not None:
            encryptor = self._essiv.encryptor()
            return encryptor.update(iv) + encryptor.finalize()
        return iv

    def decrypt(self, data: bytes, first_iv: int, sector_size: int) -> bytes:
        """Decrypt ``data`` (whole sectors). IVs count 512-byte units from ``first_iv``, as
        dm-crypt counts them without ``iv_large_sectors`` (LUKS1 and LUKS2 alike)."""
        out = []
        step = sector_size // 512
        for i in range(0, len(data), sector_size):
            iv = self._iv_bytes(first_iv + i // sector_size * step)
            mode = modes.XTS(iv) if self._mode == "xts" else modes.CBC(iv)
            decryptor = Cipher(self._algorithm, mode).decryptor()
            out.append(decryptor.update(data[i : i + sector_size]) + decryptor.finalize())
        return b"".join(out)


def _diffuse(block: bytes, hash_name: str) -> bytes:
    size = hashlib.new(hash_name).digest_size
    out = []
    for j in range(0, len(block), size):
        chunk = block[j : j + size]
        digest = hashlib.new(hash_name, (j // size).to_bytes(4, "big") + chunk).digest()
        out.append(digest[: len(chunk)])
    return b"".join(out)


def af_merge(material: bytes, key_bytes: int, stripes: int, hash_name: str) -> bytes:
    """The key the anti-forensic splitter spread over ``stripes`` blocks (LUKS AF merge)."""
    if hash_name not in hashlib.algorithms_available:
        raise UnsupportedFormat(f"LUKS anti-forensic hash {hash_name[:16]!r} is not supported")
    d = bytes(key_bytes)
    for i in range(stripes - 1):
        d = _diffuse(_xor(d, material[i * key_bytes : (i + 1) * key_bytes]), hash_name)
    return _xor(d, material[(stripes - 1) * key_bytes : stripes * key_bytes])
