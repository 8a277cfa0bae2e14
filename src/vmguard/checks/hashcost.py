"""What one crypt(3) guess costs, read from the hash string before anything is hashed.

Password guessing hashes each guess with the guest's own setting, so the guest chooses
the cost: ``$6$rounds=999999999$`` is minutes per guess, bcrypt cost 31 a day, yescrypt
``$y$jHT$`` 4 GiB of memory. The scan must not be held hostage by a string in
``/etc/shadow``: the cost is estimated from the setting (time in milliseconds on this
class of machine, measured: SHA-512 at 5,000 rounds ~0.9 ms, bcrypt ~0.041 ms per unit of
2^cost, yescrypt ~0.9 ms per MiB, scrypt ~2.5 ms per MiB) and guessing gets a fixed budget.

A setting that cannot be parsed, names a scheme not listed here, or needs more memory
than ``MAX_MEMORY`` has no cost (None): it is not guessed at all.
"""

from __future__ import annotations

import re

MAX_MEMORY = 64 * 1024 * 1024
"""yescrypt / scrypt settings needing more memory per guess are not guessed."""
_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_MiB = 1024 * 1024
_CHEAP = 0.3
"""DES, bsdicrypt, MD5-crypt, NT: well under a millisecond."""
_SHA_ROUNDS = re.compile(r"^\$[56]\$rounds=(\d{1,10})\$")
_BCRYPT = re.compile(r"^\$2[abxy]\$(\d\d)\$")


def _decode64_uint32(text: str, at: int, minimum: int) -> tuple[int, int] | None:
    """yescrypt's variable-length number (libxcrypt ``decode64_uint32``): value, next index."""
    if at >= len(text) or text[at] not in _ITOA64:
        return None
    c = _ITOA64.index(text[at])
    at += 1
    value, start, end, chars, bits = minimum, 0, 47, 1, 0
    while c > end:
        value += (end + 1 - start) << bits
        start = end + 1
        end = start + (62 - end) // 2
        chars += 1
        bits += 6
    value += (c - start) << bits
    while chars > 1:
        chars -= 1
        bits -= 6
        if at >= len(text) or text[at] not in _ITOA64:
            return None
        value += _ITOA64.index(text[at]) << bits
        at += 1
    return value, at


def _yescrypt_memory(params: str) -> int | None:
    """Bytes one yescrypt hash needs (128 * r * N), from the text after ``$y$``/``$gy$``."""
    flavor = _decode64_uint32(params, 0, 0)
    n_log2 = flavor and _decode64_uint32(params, flavor[1], 1)
    r = n_log2 and _decode64_uint32(params, n_log2[1], 1)
    if not r or not n_log2 or n_log2[0] > 40 or r[0] > 1 << 16:
        return None
    return 128 * r[0] * (1 << n_log2[0])


def _scrypt_memory(params: str) -> int | None:
    """Bytes one ``$7$`` hash needs: N from one character, r from the next five (30 bits)."""
    if len(params) < 6 or any(ch not in _ITOA64 for ch in params[:6]):
        return None
    n_log2 = _ITOA64.index(params[0])
    r = sum(_ITOA64.index(ch) << (6 * i) for i, ch in enumerate(params[1:6]))
    return 128 * r * (1 << n_log2)


def guess_cost(setting: str) -> float | None:
    """Estimated milliseconds for one guess under ``setting``, or None: do not guess."""
    if not setting.startswith("$"):
        return _CHEAP if len(setting) in (13, 20) else None  # DES, bsdicrypt
    if setting.startswith(("$1$", "$3$", "$md5")):
        return _CHEAP
    if setting.startswith(("$5$", "$6$")):
        rounds = _SHA_ROUNDS.match(setting)
        count = min(max(int(rounds.group(1)), 1000), 999_999_999) if rounds else 5000
        return 0.95 * count / 5000
    if bcrypt := _BCRYPT.match(setting):
        return 0.0415 * (1 << int(bcrypt.group(1)))
    memory: int | None = None
    per_mib = 0.0
    if setting.startswith(("$y$", "$gy$")):
        memory, per_mib = _yescrypt_memory(setting.split("$")[2]), 0.9
    elif setting.startswith("$7$"):
        memory, per_mib = _scrypt_memory(setting[3:]), 2.5
    if memory is None or memory > MAX_MEMORY:
        return None
    return max(per_mib * memory / _MiB, _CHEAP)
