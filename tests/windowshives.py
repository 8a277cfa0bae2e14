"""Registry hives for tests, written by real registry tools.

An empty hive comes from Samba's regf writer (``reg_create_regf_file`` in
libregistry-samba4, package registry-tools), the only Debian tool that creates a hive from
nothing; Samba 4.17 stores the base block's "hive bins data size" one page too large (the
file end, not the bins' size), which libregf and hivex both misread, so that one field is
set to the real size and the header checksum recomputed. Keys and values are then merged
from regedit text by ``hivexregedit --merge`` (package libwin-hivex-perl), the writer
libguestfs uses. SAM records (V, F, alias C values) are laid out here in the formats
Windows writes; ``chntpw -l`` reads them back as an independent oracle in the tests.
"""

from __future__ import annotations

import ctypes
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

SAMBA_REGISTRY = "/usr/lib/x86_64-linux-gnu/samba/libregistry-samba4.so.0"
DOMAIN_SID = (21, 1_111_111_111, 2_222_222_222, 3_333_333_333)
"""Sub-authorities of the test machine's account domain SID (S-1-5-21-...)."""


def _fix_samba_size(path: Path) -> None:
    """Set the base block's hive-bins size to the real one; recompute its XOR checksum."""
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 0x28, len(data) - 0x1000)
    checksum = 0
    for offset in range(0, 0x1FC, 4):
        checksum ^= struct.unpack_from("<I", data, offset)[0]
    struct.pack_into("<I", data, 0x1FC, checksum)
    path.write_bytes(bytes(data))


def empty_hive(path: Path) -> None:
    """A new, empty hive written by Samba's regf writer."""
    if not Path(SAMBA_REGISTRY).exists():
        pytest.skip("Samba's registry library missing (Debian package: registry-tools)")
    library = ctypes.CDLL(SAMBA_REGISTRY)
    library.reg_create_regf_file.restype = ctypes.c_uint32
    library.hive_key_flush.restype = ctypes.c_uint32
    key = ctypes.c_void_p()
    assert library.reg_create_regf_file(None, str(path).encode(), 5, ctypes.byref(key)) == 0
    assert library.hive_key_flush(key) == 0
    _fix_samba_size(path)


def merge_reg(hive: Path, prefix: str, reg: str) -> None:
    """Merge regedit-format text (keys written under ``prefix``) into ``hive``."""
    if shutil.which("hivexregedit") is None:
        pytest.skip("hivexregedit missing (Debian package: libwin-hivex-perl)")
    text = "Windows Registry Editor Version 5.00\n\n" + _with_parents(prefix, reg)
    subprocess.run(
        ["hivexregedit", "--merge", "--prefix", prefix, "--encoding", "UTF-16LE", str(hive)],
        input=text.encode(),
        check=True,
    )


def _with_parents(prefix: str, reg: str) -> str:
    """hivexregedit creates a key only below an existing one: name every parent first."""
    seen: set[str] = set()
    out: list[str] = []
    for line in reg.splitlines():
        if line.startswith("[") and line.endswith("]"):
            parts = line[1:-1][len(prefix) + 1 :].split("\\")
            for depth in range(1, len(parts)):
                parent = "\\".join(parts[:depth])
                if parent.casefold() not in seen:
                    seen.add(parent.casefold())
                    out += [f"[{prefix}\\{parent}]", ""]
            seen.add("\\".join(parts).casefold())
        out.append(line)
    return "\n".join(out) + "\n"


def hive_from_reg(path: Path, prefix: str, reg: str) -> Path:
    """A new hive holding ``reg``."""
    empty_hive(path)
    merge_reg(path, prefix, reg)
    return path


def reg_hex(data: bytes) -> str:
    """``hex:`` value text for regedit files."""
    return "hex:" + ",".join(f"{b:02x}" for b in data)


@dataclass(frozen=True)
class SamAccount:
    """One local account to write into a SAM hive."""

    name: str
    rid: int
    disabled: bool = False
    blank: bool = False
    """No password (a header-only hash entry)."""
    aes: bool = True
    """Hash entries in the AES layout (Windows 10 1607 and later), else the older RC4 one."""
    admin: bool = False
    password_not_required: bool = False


def _hash_entry(account: SamAccount, seed: int) -> bytes:
    filler = bytes((seed * 37 + i * 11) & 0xFF for i in range(32))
    if account.aes:  # PEK id, revision 2, data offset, 16-byte salt, AES-encrypted hash
        header = struct.pack("<HHI", 1, 2, 0x10) + filler[:16]
        return header if account.blank else header + filler
    header = struct.pack("<HH", 1, 1)  # PEK id, revision 1, RC4-encrypted 16-byte hash
    return header if account.blank else header + filler[:16]


def user_v(account: SamAccount) -> bytes:
    """A user's V value: 17 (offset, length, unknown) slots, then the data they point to."""
    fields: dict[int, bytes] = {
        0x0C: account.name.encode("utf-16-le"),
        0x18: f"{account.name} full name".encode("utf-16-le"),
        0x24: b"",
        0x9C: _hash_entry(account, account.rid),
        0xA8: _hash_entry(account, account.rid + 1),
    }
    header = bytearray(0xCC)
    data = bytearray()
    for slot, value in fields.items():
        struct.pack_into("<II", header, slot, len(data), len(value))
        data += value + bytes(-len(value) % 4)
    struct.pack_into("<I", header, 0x08, 0x00010002)
    return bytes(header + data)


def user_f(account: SamAccount) -> bytes:
    """A user's F value (0x50 bytes): RID at 0x30, account control bits at 0x38."""
    value = bytearray(0x50)
    struct.pack_into("<HH", value, 0, 2, 0)
    control = 0x0010  # ACB_NORMAL
    if account.disabled:
        control |= 0x0001
    if account.password_not_required:
        control |= 0x0004
    struct.pack_into("<II", value, 0x30, account.rid, 513)  # RID, primary group (None)
    struct.pack_into("<H", value, 0x38, control)
    return bytes(value)


def _sid(*subauthorities: int) -> bytes:
    return struct.pack("<BB6s", 1, len(subauthorities), b"\0\0\0\0\0\x05") + b"".join(
        struct.pack("<I", s) for s in subauthorities
    )


def alias_c(rid: int, name: str, member_rids: list[int]) -> bytes:
    """An alias's C value: name, comment and member SIDs, offsets relative to 0x34."""
    name_raw = name.encode("utf-16-le")
    members = b"".join(_sid(*DOMAIN_SID, r) for r in member_rids)
    header = bytearray(0x34)
    struct.pack_into("<I", header, 0x00, rid)
    struct.pack_into("<II", header, 0x10, 0, len(name_raw))
    struct.pack_into("<II", header, 0x1C, len(name_raw), 0)
    struct.pack_into("<III", header, 0x28, len(name_raw), len(members), len(member_rids))
    return bytes(header) + name_raw + members


def domain_v() -> bytes:
    """The account domain's V value: the machine SID (S-1-5-21-a-b-c) at 0x40 + the offset
    stored at 0x38 (its length, less the 4 header bytes, at 0x3C)."""
    header = bytearray(0x40)
    sid = _sid(*DOMAIN_SID)
    struct.pack_into("<II", header, 0x38, 0x10, len(sid) - 4)
    return bytes(header) + bytes(0x10) + sid + bytes(8)


def sam_reg(accounts: list[SamAccount]) -> str:
    """Regedit text for a SAM hive (prefix ``HKEY_LOCAL_MACHINE\\SAM``) with ``accounts``."""
    root = "HKEY_LOCAL_MACHINE\\SAM\\SAM\\Domains"
    lines = [f"[{root}\\Account]", f'"V"={reg_hex(domain_v())}', ""]
    lines += [f"[{root}\\Account\\Users]", ""]
    for account in accounts:
        key = f"{root}\\Account\\Users\\{account.rid:08X}"
        lines += [f"[{key}]", f'"F"={reg_hex(user_f(account))}']
        lines += [f'"V"={reg_hex(user_v(account))}', ""]
        lines += [f"[{root}\\Account\\Users\\Names\\{account.name}]"]
        lines += [f"@=hex({account.rid:x}):", ""]
    admins = [a.rid for a in accounts if a.admin]
    lines += [f"[{root}\\Builtin\\Aliases\\00000220]"]
    lines += [f'"C"={reg_hex(alias_c(0x220, "Administrators", admins))}', ""]
    # The reverse index Windows keeps beside the C values (what chntpw reads): per member,
    # the aliases it belongs to; the value type is the count, the data the alias RIDs.
    sid_text = "S-1-5-" + "-".join(str(s) for s in DOMAIN_SID)
    for account in accounts:
        aliases = [0x220] if account.admin else [0x221]
        lines += [f"[{root}\\Builtin\\Aliases\\Members\\{sid_text}\\{account.rid:08X}]"]
        data = b"".join(struct.pack("<I", a) for a in aliases)
        lines += [f"@={reg_hex(data).replace('hex:', f'hex({len(aliases):x}):')}", ""]
    users = [a.rid for a in accounts if not a.admin]
    lines += [f"[{root}\\Builtin\\Aliases\\00000221]"]
    lines += [f'"C"={reg_hex(alias_c(0x221, "Users", users))}', ""]
    return "\n".join(lines) + "\n"
