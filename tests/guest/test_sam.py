"""SAM accounts against chntpw, an independent reader of the same hive."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from vmguard.guest.sam import password_is_set, read_sam_accounts
from windowshives import SamAccount, hive_from_reg, reg_hex, sam_reg, user_v

from .dirview import DirView

ACCOUNTS = [
    SamAccount("Administrator", 500, blank=True, aes=False, admin=True),
    SamAccount("Guest", 501, disabled=True, blank=True),
    SamAccount("alice", 1001, admin=True),
    SamAccount("bob", 1002, aes=False),
    SamAccount("carol", 1003, disabled=True, aes=False),
    SamAccount("dave", 1004, blank=True),
]


def _sam(tmp_path: Path, accounts: list[SamAccount]) -> Path:
    config = tmp_path / "Windows/System32/config"
    config.mkdir(parents=True)
    return hive_from_reg(config / "SAM", "HKEY_LOCAL_MACHINE\\SAM", sam_reg(accounts))


def _chntpw(sam: Path) -> dict[str, tuple[int, bool, str]]:
    """name -> (RID, admin, lock column) as ``chntpw -l`` lists them."""
    if shutil.which("chntpw") is None:
        pytest.skip("chntpw missing (Debian package: chntpw)")
    out = subprocess.run(["chntpw", "-l", str(sam)], capture_output=True, text=True).stdout
    rows = [
        line.split("|")[1:5] for line in out.splitlines() if re.match(r"\| [0-9a-f]{4} \|", line)
    ]
    return {
        name.strip(): (int(rid, 16), admin.strip() == "ADMIN", lock.strip())
        for rid, name, admin, lock in rows
    }


def test_accounts_match_chntpw(tmp_path: Path) -> None:
    sam = _sam(tmp_path, ACCOUNTS)
    gathered = read_sam_accounts(DirView(tmp_path))
    assert gathered.problems == ()
    oracle = _chntpw(sam)
    assert sorted(oracle) == sorted(u.name for u in gathered.value)
    for user in gathered.value:
        rid, admin, lock = oracle[user.name]
        assert (user.uid, user.admin, user.disabled) == (rid, admin, lock == "dis/lock")
        assert user.gid == 513
    # chntpw flags a blank password only in the older layout (an entry under 16 bytes);
    # the AES layout's blank entry is 0x18 bytes of header and salt.
    old_layout = {a.name for a in ACCOUNTS if not a.aes}
    for user in gathered.value:
        if user.name in old_layout:
            assert (user.password == "empty") == (oracle[user.name][2] == "*BLANK*")
    states = {u.name: u.password for u in gathered.value}
    assert states == {
        "Administrator": "empty",
        "Guest": "empty",
        "alice": "hash",
        "bob": "hash",
        "carol": "hash",
        "dave": "empty",
    }


def test_hash_entry_layouts() -> None:
    aes_header = struct.pack("<HHI", 1, 2, 0x10) + bytes(16)
    assert not password_is_set(aes_header)
    assert password_is_set(aes_header + bytes(32))
    assert not password_is_set(struct.pack("<HH", 1, 1))
    assert password_is_set(struct.pack("<HH", 1, 1) + bytes(16))
    assert not password_is_set(b"")


def test_hostile_values_are_skipped_not_fatal(tmp_path: Path) -> None:
    sam = _sam(tmp_path, ACCOUNTS[:2])
    users = "HKEY_LOCAL_MACHINE\\SAM\\SAM\\Domains\\Account\\Users"
    broken = bytearray(user_v(SamAccount("mallory", 1100)))
    struct.pack_into("<II", broken, 0x0C, 0xFFFFFF00, 0xFFFF)  # name beyond the value
    short = b"\x01\x02"
    alias = "HKEY_LOCAL_MACHINE\\SAM\\SAM\\Domains\\Builtin\\Aliases\\00000220"
    huge_members = bytearray(0x34)
    struct.pack_into("<III", huge_members, 0x28, 0x7FFFFFF0, 0xFFFFFFFF, 0xFFFFFFFF)
    from windowshives import merge_reg

    merge_reg(
        sam,
        "HKEY_LOCAL_MACHINE\\SAM",
        f'[{users}\\0000044C]\n"V"={reg_hex(bytes(broken))}\n"F"={reg_hex(short)}\n\n'
        f'[{users}\\0000044D]\n"V"={reg_hex(short)}\n\n'
        f'[{alias}]\n"C"={reg_hex(bytes(huge_members))}\n',
    )
    gathered = read_sam_accounts(DirView(tmp_path))
    assert gathered.problems == ()
    assert [(u.name, u.admin) for u in gathered.value] == [
        ("Administrator", False),
        ("Guest", False),
    ]


def test_corrupt_sam_is_a_problem(tmp_path: Path) -> None:
    config = tmp_path / "Windows/System32/config"
    config.mkdir(parents=True)
    (config / "SAM").write_bytes(b"regf" + b"\xff" * 8188)
    gathered = read_sam_accounts(DirView(tmp_path))
    assert gathered.value == ()
    assert [p.where for p in gathered.problems] == ["/Windows/System32/config/SAM"]
