"""Local accounts of a Windows guest, from its SAM hive.

For each account: its RID, name, whether it is disabled, whether it has a password at all,
and whether it is in the built-in Administrators alias. Only the *state* of the password
is read — the length of the stored NT hash entry — never the hash itself: the entry is
encrypted with a key from the SYSTEM hive and vmguard has no reason to decrypt it.

Layouts (as Windows writes them):

- user ``F`` value: primary group RID at 0x34, account control bits (ACB) at 0x38;
- user ``V`` value: 0xCC bytes of (offset, length, unused) slots, data after them; the
  name slot is at 0x0C, the NT hash entry slot at 0xA8. An NT hash entry is either the
  older RC4 form (2-byte PEK id, revision 1, 16 bytes: 0x14 in all; 4 when blank) or the
  AES form of Windows 10 1607 and later (PEK id, revision 2, data offset, 16-byte salt,
  then the encrypted hash: 0x38 in all; 0x18 when blank);
- alias ``C`` value (Builtin\\Aliases\\00000220 is Administrators): member SIDs at the
  offset stored at 0x28 (relative to 0x34), their byte length at 0x2C, their count at 0x30;
- the account domain's ``V`` value: the machine SID at 0x40 + the offset stored at 0x38.

Every offset and length is checked against the value it points into.
"""

from __future__ import annotations

import struct

from vmguard.guest.errors import GuestFactsError
from vmguard.guest.facts import Gathered, UserAccount, guest_text
from vmguard.guest.registry import Hive, RegKey
from vmguard.guest.view import GuestView
from vmguard.guest.windows import find_hive

ACCOUNT = "SAM\\Domains\\Account"
ADMINISTRATORS = "SAM\\Domains\\Builtin\\Aliases\\00000220"
ACB_DISABLED = 0x0001
ACB_PASSWORD_NOT_REQUIRED = 0x0004
_V_DATA = 0xCC
_MAX_NAME_BYTES = 512
_MAX_MEMBERS = 10_000


def _slot(v: bytes, slot: int) -> bytes | None:
    """The data a V slot points to, None when the slot lies outside the value."""
    if len(v) < _V_DATA:
        return None
    offset, length = struct.unpack_from("<II", v, slot)
    start = _V_DATA + offset
    if length > len(v) or start + length > len(v):
        return None
    return v[start : start + length]


def password_is_set(entry: bytes) -> bool:
    """Whether a SAM hash entry holds a hash (both the RC4 and the AES layouts)."""
    if len(entry) < 4:
        return False
    revision = struct.unpack_from("<H", entry, 2)[0]
    if revision == 2:  # AES: header (8) + salt (16), then the encrypted hash when there is one
        return len(entry) > 0x18
    return len(entry) >= 0x14


def _sid_list(data: bytes, count: int) -> list[tuple[int, ...]]:
    """SIDs packed one after another, as tuples of (authority, sub-authorities...)."""
    sids: list[tuple[int, ...]] = []
    pos = 0
    while len(sids) < min(count, _MAX_MEMBERS) and pos + 8 <= len(data):
        sections = data[pos + 1]
        end = pos + 8 + 4 * sections
        if data[pos] != 1 or sections > 15 or end > len(data):
            break
        authority = int.from_bytes(data[pos + 2 : pos + 8], "big")
        subs = struct.unpack_from(f"<{sections}I", data, pos + 8)
        sids.append((authority, *subs))
        pos = end
    return sids


def _machine_sid(hive: Hive) -> tuple[int, ...] | None:
    account = hive.key(ACCOUNT)
    v = account.binary("V") if account is not None else None
    if v is None or len(v) < 0x40:
        return None
    offset = struct.unpack_from("<I", v, 0x38)[0]
    found = _sid_list(v[0x40 + offset :] if 0x40 + offset < len(v) else b"", 1)
    return found[0] if found else None


def _administrator_rids(hive: Hive) -> set[int]:
    """RIDs of this machine's accounts listed in the Administrators alias."""
    alias = hive.key(ADMINISTRATORS)
    c = alias.binary("C") if alias is not None else None
    if c is None or len(c) < 0x34:
        return set()
    offset, length, count = struct.unpack_from("<III", c, 0x28)
    start = 0x34 + offset
    if start > len(c):
        return set()
    machine = _machine_sid(hive)
    rids = set()
    for sid in _sid_list(c[start : start + length], count):
        # S-1-5-21-a-b-c-RID: a local account when the domain part is this machine's.
        if len(sid) >= 3 and (machine is None or sid[:-1] == machine):
            rids.add(sid[-1])
    return rids


def _account(key: RegKey, rid: int, admins: set[int]) -> UserAccount | None:
    v = key.binary("V")
    f = key.binary("F")
    raw_name = _slot(v, 0x0C) if v is not None else None
    if v is None or raw_name is None:
        return None
    name = guest_text(raw_name[:_MAX_NAME_BYTES].decode("utf-16-le", "replace"))
    entry = _slot(v, 0xA8)
    control = struct.unpack_from("<H", f, 0x38)[0] if f is not None and len(f) >= 0x3A else 0
    group = struct.unpack_from("<I", f, 0x34)[0] if f is not None and len(f) >= 0x38 else 513
    return UserAccount(
        name=name,
        uid=rid,
        gid=group,
        home="",
        shell="",
        password="hash" if entry is not None and password_is_set(entry) else "empty",
        disabled=bool(control & ACB_DISABLED),
        admin=rid in admins,
    )


def read_sam_accounts(view: GuestView) -> Gathered[tuple[UserAccount, ...]]:
    """Local accounts from ``<SystemRoot>/System32/config/SAM``, sorted by RID."""
    try:
        path = find_hive(view, "SAM")
        if path is None:
            return Gathered(())
        hive = Hive(view, path)
        users = hive.key(f"{ACCOUNT}\\Users")
        if users is None:
            return Gathered(())
        admins = _administrator_rids(hive)
        accounts: list[UserAccount] = []
        for key in users.subkeys():
            name = key.name
            if len(name) != 8 or not all(c in "0123456789abcdefABCDEF" for c in name):
                continue  # "Names" and anything else that is not a RID
            account = _account(key, int(name, 16), admins)
            if account is not None:
                accounts.append(account)
    except GuestFactsError as err:
        return Gathered((), (err.problem(),))
    return Gathered(tuple(sorted(accounts, key=lambda a: a.uid)))
