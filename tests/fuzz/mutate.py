"""A small deterministic mutator: what the smoke run and the fallback loop feed the harnesses.

It favours the first kilobytes (where headers live) and writes the integers parsers trip on
(0, 1, -1, sign bits, powers of two) at random offsets, besides bit flips, truncation,
duplication, insertion and splicing of two seeds.
"""

from __future__ import annotations

import random
import struct

INTERESTING = (0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
               0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF,
               0xFFFFFFFFFFFFFFFF)  # fmt: skip
MAX_GROWTH = 1 << 16


def _offset(rng: random.Random, size: int) -> int:
    if size == 0:
        return 0
    if rng.random() < 0.6:
        return rng.randrange(min(size, 4096))
    return rng.randrange(size)


def mutate(data: bytes, rng: random.Random, other: bytes = b"") -> bytes:
    """One mutant of ``data`` (``other``, another seed, is used for splicing)."""
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 4, 8))):
        choice = rng.randrange(8)
        at = _offset(rng, len(out))
        if choice == 0 and out:
            out[at % len(out)] ^= 1 << rng.randrange(8)
        elif choice == 1 and out:
            out[at % len(out)] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif choice in (2, 3):
            width, fmt = rng.choice(((2, "H"), (4, "I"), (8, "Q")))
            value = rng.choice(INTERESTING) & ((1 << (8 * width)) - 1)
            endian = rng.choice("<>")
            if at + width <= len(out):
                struct.pack_into(endian + fmt, out, at, value)
        elif choice == 4 and out:
            del out[rng.randrange(len(out)) :]
        elif choice == 5 and out:
            length = rng.randrange(1, min(len(out) - at, 512) + 1) if at < len(out) else 0
            out[at:at] = out[at : at + length]
        elif choice == 6:
            out[at:at] = rng.randbytes(rng.randrange(1, 64))
        elif choice == 7 and other:
            cut = rng.randrange(len(other) + 1)
            out = out[:at] + bytearray(other[cut : cut + rng.randrange(1, 4096)]) + out[at:]
    return bytes(out[: len(data) + MAX_GROWTH])
