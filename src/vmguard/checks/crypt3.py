"""crypt(3) through libxcrypt's thread-safe ``crypt_rn``, via ctypes.

Python's ``crypt`` module was deprecated by PEP 594 and removed in Python 3.13; libxcrypt
(``libcrypt.so.1``, the crypt(3) of every current Linux distribution) is what it wrapped.
The guest's own hash string is the setting, so the guess is hashed exactly as the guest
would (same scheme, salt and cost). Each call gets its own ``struct crypt_data``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import cache

from vmguard.errors import VmguardError

_CRYPT_DATA_SIZE = 32768
"""``sizeof(struct crypt_data)`` in libxcrypt; ``output`` is its first member."""
MAX_PHRASE = 512
"""libxcrypt refuses phrases of this many bytes or more (CRYPT_MAX_PASSPHRASE_SIZE)."""


class CryptUnavailable(VmguardError):
    """No libxcrypt on this host: password guessing cannot run."""


@cache
def _crypt_rn() -> Callable[[bytes, bytes, ctypes.Array[ctypes.c_char], int], bytes | None]:
    name = ctypes.util.find_library("crypt")
    try:
        library = ctypes.CDLL(name or "libcrypt.so.1", use_errno=True)
        function = library.crypt_rn
    except (OSError, AttributeError) as err:
        raise CryptUnavailable(f"libxcrypt's crypt_rn not found: {err}") from err
    function.restype = ctypes.c_char_p
    function.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int]
    return function


def crypt(phrase: str, setting: str) -> str | None:
    """``crypt(phrase, setting)``, or None when libxcrypt rejects the setting or phrase
    (an unsupported scheme, a malformed salt); raises ``CryptUnavailable`` without it."""
    raw_phrase, raw_setting = phrase.encode(), setting.encode()
    if len(raw_phrase) >= MAX_PHRASE or b"\0" in raw_phrase or b"\0" in raw_setting:
        return None
    data = ctypes.create_string_buffer(_CRYPT_DATA_SIZE)
    out = _crypt_rn()(raw_phrase, raw_setting, data, _CRYPT_DATA_SIZE)
    if out is None or out.startswith(b"*"):  # failure tokens start with '*'
        return None
    return out.decode("ascii", "replace")
