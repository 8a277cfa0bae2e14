"""BitLocker (Windows 7+ format, AES-XTS-128) volumes written from the published format facts,
since no Linux tool creates one: libyal's BDE format documentation and cryptsetup's BITLK
reader give the layout (a FAT32-looking boot record with "-FVE-FS-", three 64 KiB FVE
metadata blocks, a volume master key (VMK) per protector sealed with AES-CCM under a key
stretched from the password by 2^20 SHA-256 rounds, the full volume encryption key (FVEK)
sealed under the VMK, sectors in AES-XTS with the sector number as tweak, and the
filesystem's first sectors moved, encrypted, to the "volume header" area).

A plaintext volume made by a real tool (``mkfs.ext4 -d``) is encrypted in place. A builder
from the format facts proves nothing by itself: tests check each volume with two
independent readers first, libbde's ``bdeinfo`` and ``cryptsetup bitlkDump`` /
``open --test-passphrase``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

MIB = 1 << 20
SECTOR = 512
BDE_GUID = uuid.UUID("4967d63b-2e29-4ad8-8399-f6a339e3d001")
XTS_128 = 0x8004
HEADER_SECTORS = 16
"""The filesystem's first 8 KiB, moved to the volume header area."""
FILETIME = 0x01DA_0000_0000_0000
STARTUP_KEY = 0x0200
RECOVERY = 0x0800
PASSWORD = 0x2000


@dataclass(frozen=True, slots=True)
class BitLockerVolume:
    """A BitLocker volume, the plaintext it decrypts to, and its secrets."""

    path: Path
    plaintext: bytes
    recovery_password: str
    password: str
    volume_id: uuid.UUID
    startup_key: bytes
    """A BitLocker External Key (.BEK) file's bytes, as Windows writes it to a USB stick."""


def recovery_password() -> str:
    """48 digits in 8 groups, each a multiple of 11 below 720896 (16 bits each)."""
    return "-".join(f"{11 * secrets.randbelow(65536):06d}" for _ in range(8))


def _recovery_key(password: str) -> bytes:
    return b"".join(struct.pack("<H", int(group) // 11) for group in password.split("-"))


def stretch(initial: bytes, salt: bytes) -> bytes:
    """The BitLocker key stretch: 2^20 chained SHA-256 over (last, initial, salt, count)."""
    last = bytes(32)
    for count in range(1 << 20):
        last = hashlib.sha256(last + initial + salt + struct.pack("<Q", count)).digest()
    return last


def _entry(entry_type: int, value_type: int, data: bytes) -> bytes:
    return struct.pack("<4H", 8 + len(data), entry_type, value_type, 1) + data


def _key_entry(method: int, key: bytes) -> bytes:
    return _entry(0, 0x0001, struct.pack("<I", method) + key)


def _sealed(key: bytes, payload: bytes, counter: int) -> bytes:
    """An AES-CCM encrypted key value: nonce (FILETIME, counter), MAC, ciphertext."""
    nonce = struct.pack("<QI", FILETIME, counter)
    sealed = AESCCM(key, tag_length=16).encrypt(nonce, payload, None)
    return nonce + sealed[-16:] + sealed[:-16]


def _vmk_entry(protection: int, initial: bytes, vmk: bytes, counter: int) -> bytes:
    salt = os.urandom(16)
    stretched = stretch(initial, salt)
    properties = _entry(0, 0x0003, struct.pack("<I", 0x1000) + salt)
    properties += _entry(0, 0x0005, _sealed(stretched, _key_entry(0x2000, vmk), counter))
    head = uuid.uuid4().bytes_le + struct.pack("<QHH", FILETIME, 0, protection)
    return _entry(0x0002, 0x0008, head + properties)


def _startup_key_vmk(key_id: uuid.UUID, external: bytes, vmk: bytes, counter: int) -> bytes:
    """A VMK sealed directly (no stretch) under a startup key's 256-bit external key."""
    head = key_id.bytes_le + struct.pack("<QHH", FILETIME, 0, STARTUP_KEY)
    properties = _entry(0, 0x0002, "ExternalKey".encode("utf-16-le") + b"\0\0")
    properties += _entry(0, 0x0005, _sealed(external, _key_entry(0x2000, vmk), counter))
    return _entry(0x0002, 0x0008, head + properties)


def bek_file(key_id: uuid.UUID, external: bytes) -> bytes:
    """A .BEK file: a metadata header, then one startup key entry holding the external key
    (an identifier matching its VMK, a description, the key)."""
    properties = _entry(0, 0x0002, "ExternalKey".encode("utf-16-le") + b"\0\0")
    properties += _entry(0, 0x0001, struct.pack("<I", 0x2002) + external)
    entry = _entry(0x0006, 0x0009, key_id.bytes_le + struct.pack("<Q", FILETIME) + properties)
    size = 48 + len(entry)
    header = struct.pack("<4I", size, 1, 48, size) + key_id.bytes_le
    return header + struct.pack("<IIQ", 1, 0, FILETIME) + entry


def _xts(fvek: bytes, data: bytes, first_sector: int) -> bytes:
    out = bytearray()
    for i in range(0, len(data), SECTOR):
        tweak = (first_sector + i // SECTOR).to_bytes(16, "little")
        enc = Cipher(algorithms.AES(fvek), modes.XTS(tweak)).encryptor()
        out += enc.update(data[i : i + SECTOR]) + enc.finalize()
    return bytes(out)


def _boot_record(metadata: tuple[int, int, int]) -> bytes:
    vbr = bytearray(512)
    vbr[0:11] = b"\xeb\x58\x90-FVE-FS-"
    struct.pack_into("<HBHBHHBH", vbr, 11, 512, 8, 0, 0, 0, 0, 0xF8, 0)
    struct.pack_into("<HHI", vbr, 24, 0x3F, 0xFF, 0)
    struct.pack_into("<BBB", vbr, 64, 0x80, 0, 0x29)
    struct.pack_into("<I", vbr, 67, 0x5EC0_0001)
    vbr[71:90] = b"NO NAME    FAT32   "
    vbr[160:176] = BDE_GUID.bytes_le
    struct.pack_into("<3Q", vbr, 176, *metadata)
    vbr[510:512] = b"\x55\xaa"
    return bytes(vbr)


def _metadata_block(
    metadata: tuple[int, int, int], size: int, header_at: int, volume_id: uuid.UUID, entries: bytes
) -> bytes:
    entries += bytes(16)  # readers stop at an entry of size 0
    header = struct.pack("<4I", 48 + len(entries), 1, 48, 48 + len(entries))
    header += volume_id.bytes_le + struct.pack("<IHHQ", 8, XTS_128, 0, FILETIME)
    block = b"-FVE-FS-" + struct.pack("<HHHHQII", 64, 2, 4, 4, size, 0, HEADER_SECTORS)
    block += struct.pack("<3QQ", *metadata, header_at)
    return block + header + entries


def encrypt_volume(
    plain: bytes, path: Path, *, password: str = "Corp-Laptop-2011!", password_copies: int = 1
) -> BitLockerVolume:
    """``plain`` (a whole volume whose last 8 MiB hold no data) as a BitLocker volume at
    ``path``, openable with a new recovery password and with ``password`` (whose key
    protector is repeated ``password_copies`` times, as a hostile volume may)."""
    size = len(plain)
    assert size % MIB == 0 and size >= 16 * MIB
    metadata = (size - 8 * MIB, size - 6 * MIB, size - 4 * MIB)
    header_at = metadata[0] + 64 * 1024
    fvek, vmk = os.urandom(32), os.urandom(32)
    volume_id = uuid.uuid4()
    recovery = recovery_password()
    recovery_initial = hashlib.sha256(_recovery_key(recovery)).digest()
    password_initial = hashlib.sha256(
        hashlib.sha256(password.encode("utf-16-le")).digest()
    ).digest()
    entries = _vmk_entry(RECOVERY, recovery_initial, vmk, 1)
    entries += _vmk_entry(PASSWORD, password_initial, vmk, 2) * password_copies
    key_id, external = uuid.uuid4(), os.urandom(32)
    entries += _startup_key_vmk(key_id, external, vmk, 4)
    entries += _entry(0x0003, 0x0005, _sealed(vmk, _key_entry(XTS_128, fvek), 3))
    entries += _entry(0x000F, 0x000F, struct.pack("<QQ", header_at, HEADER_SECTORS * SECTOR))
    text = "CORP-LAPTOP D: 3/12/2026".encode("utf-16-le") + b"\0\0"
    entries += _entry(0x0007, 0x0002, text)
    disk = bytearray(_xts(fvek, plain, 0))
    header_bytes = HEADER_SECTORS * SECTOR
    disk[header_at : header_at + header_bytes] = _xts(
        fvek, plain[:header_bytes], header_at // SECTOR
    )
    disk[0:header_bytes] = bytes(header_bytes)
    disk[0:512] = _boot_record(metadata)
    for offset in metadata:
        block = _metadata_block(metadata, size, header_at, volume_id, entries)
        disk[offset : offset + 64 * 1024] = block.ljust(64 * 1024, b"\0")
    path.write_bytes(bytes(disk))
    return BitLockerVolume(path, plain, recovery, password, volume_id, bek_file(key_id, external))
