"""Key derivation for LUKS key slots and digests, its cost bounded before any work.

A LUKS header chooses the cost of every guess: 2^32 PBKDF2 iterations, or argon2 with
4 GiB of memory and a time cost of thousands, would hold a scan for hours or exhaust the
host. As ``checks/hashcost`` does for /etc/shadow, the cost is estimated from the header's
parameters (measured on this class of machine: PBKDF2 ~0.6 us per SHA-256 iteration, ~1.2 us
per SHA-1, ~1.4 us per SHA-512; argon2 ~1.7 ms per MiB per pass) and refused above
``MAX_KDF_SECONDS`` per derivation or ``MAX_ARGON2_MEMORY_KIB`` of memory, before a single
byte is hashed.

This module must never log, store or return a passphrase in any message.
"""

from __future__ import annotations

import hashlib

from vmguard.disk.errors import LimitExceeded, UnsupportedFormat
from vmguard.disk.volumes.luks_header import Kdf

MAX_KDF_SECONDS = 30.0
"""Estimated time one derivation may take (cryptsetup's defaults aim at 2 s on the machine
that formatted the volume)."""
MAX_ARGON2_MEMORY_KIB = 1024 * 1024
"""cryptsetup's default ceiling for argon2 memory (1 GiB)."""
MAX_ARGON2_LANES = 16
_PBKDF2_US = {"sha1": 1.2, "sha224": 0.6, "sha256": 0.6, "sha384": 1.4, "sha512": 1.4}
_ARGON2_MS_PER_MIB_PASS = 1.7


def kdf_seconds(kdf: Kdf) -> float:
    """Estimated seconds one derivation takes; ``LimitExceeded`` when it is refused."""
    if kdf.kind == "pbkdf2":
        per_iteration = _PBKDF2_US.get(kdf.hash)
        if per_iteration is None:
            raise LimitExceeded(f"LUKS PBKDF2 hash {kdf.hash[:16]!r} is not supported")
        seconds = kdf.iterations * per_iteration / 1e6
    elif kdf.kind in ("argon2i", "argon2id"):
        if kdf.memory_kib > MAX_ARGON2_MEMORY_KIB:
            raise LimitExceeded(
                f"LUKS {kdf.kind} asks for {kdf.memory_kib} KiB of memory per guess "
                f"(at most {MAX_ARGON2_MEMORY_KIB} KiB are spent)"
            )
        if not 1 <= kdf.lanes <= MAX_ARGON2_LANES or kdf.memory_kib < 8 * kdf.lanes:
            raise LimitExceeded(f"LUKS {kdf.kind} parallelism {kdf.lanes} is refused")
        seconds = kdf.iterations * kdf.memory_kib / 1024 * _ARGON2_MS_PER_MIB_PASS / 1e3
    else:
        raise LimitExceeded(f"LUKS KDF {kdf.kind[:16]!r} is not supported")
    if kdf.iterations < 1:
        raise LimitExceeded(f"LUKS {kdf.kind} with {kdf.iterations} iterations is refused")
    if seconds > MAX_KDF_SECONDS:
        raise LimitExceeded(
            f"LUKS {kdf.kind} with {kdf.iterations} iterations would take about "
            f"{seconds:.0f} s per key tried (at most {MAX_KDF_SECONDS:.0f} s are spent)"
        )
    return seconds


def derive(kdf: Kdf, secret: bytes, length: int) -> bytes:
    """The key the KDF makes of ``secret``; call ``kdf_seconds`` first."""
    kdf_seconds(kdf)  # the bound holds even for a caller that forgot
    if kdf.kind == "pbkdf2":
        return hashlib.pbkdf2_hmac(kdf.hash, secret, kdf.salt, kdf.iterations, length)
    try:  # Argon2id since cryptography 44, Argon2i later: older versions refuse clearly
        from cryptography.hazmat.primitives.kdf import argon2

        algorithm = getattr(argon2, "Argon2id" if kdf.kind == "argon2id" else "Argon2i")
    except (ImportError, AttributeError) as err:
        raise UnsupportedFormat(
            f"LUKS {kdf.kind} needs a newer cryptography library than the one installed"
        ) from err
    derived: bytes = algorithm(
        salt=kdf.salt,
        length=length,
        iterations=kdf.iterations,
        lanes=kdf.lanes,
        memory_cost=kdf.memory_kib,
    ).derive(secret)
    return derived
