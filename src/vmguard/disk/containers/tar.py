"""A bounded, read-in-place tar index for OVA packages.

Members are never extracted: each regular member becomes a slice of the archive. Member
names are untrusted; this module only records them, and ``ova`` decides what may be used.
Headers are parsed here rather than with ``tarfile`` because ``tarfile`` reads PAX and GNU
long-name payloads whole, whatever size the archive claims.

Strict on purpose: tar readers disagree on the corners of the format (GNU long-link and
sparse members, global PAX headers, a GNU long name and a PAX path for one member, the
ustar prefix field in GNU headers, data after a directory entry), and an OVA that reads one
way here and another way in VirtualBox, GNU tar or Python's tarfile could hide its real disk.
So only what every reader agrees on is accepted: regular files, directories without data,
links (recorded, then refused by ``ova``), one GNU long name or one PAX header (path, size,
linkpath and metadata keys) per member, and the ustar prefix in POSIX ustar headers only.
Anything else refuses the archive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vmguard.disk.errors import CorruptImage, LimitExceeded
from vmguard.disk.source import ByteSource
from vmguard.text import is_decimal

_BLOCK = 512
_MAX_NAME_PAYLOAD = 64 * 1024
REGULAR = "regular"
_OCTAL = re.compile(rb"[0-7]+")
_POSIX_MAGIC = b"ustar\x0000"
_PAX_METADATA = frozenset(
    {"atime", "ctime", "mtime", "uid", "gid", "uname", "gname", "comment", "charset", "hdrcharset"}
)
"""PAX keys that change nothing about which bytes a member names (besides path, size,
linkpath); any other key (GNU.sparse.*, vendor keys) refuses the archive."""


@dataclass(frozen=True, slots=True)
class TarMember:
    """One archive member, located in place."""

    name: str
    kind: str
    """"regular", "directory", "symlink" or "hardlink"."""
    offset: int
    """Offset of the member's data in the archive."""
    size: int
    link_target: str = ""


def _number(field: bytes, what: str) -> int:
    if field and field[0] == 0x80:  # GNU base-256, positive
        return int.from_bytes(field[1:], "big")
    if field and field[0] & 0x80:
        raise CorruptImage(f"tar header: negative or malformed base-256 {what} field")
    text = field.split(b"\x00", 1)[0].strip(b" ")
    if not text:
        return 0
    if not _OCTAL.fullmatch(text):
        raise CorruptImage(f"tar header: invalid {what} field {text[:24]!r}")
    return int(text, 8)


def checksum_sums(header: bytes) -> tuple[int, int]:
    """The header's checksum as tar computes it: unsigned, and the historic signed-char sum."""
    rest = header[:148] + b" " * 8 + header[156:]
    unsigned = sum(rest)
    return unsigned, unsigned - 256 * sum(1 for b in rest if b & 0x80)


def _checksum_matches(header: bytes) -> bool:
    return _number(header[148:156], "checksum") in checksum_sums(header)


def _text(field: bytes) -> str:
    return field.split(b"\x00", 1)[0].decode("utf-8", "surrogateescape")


def _pax_records(payload: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    pos = 0
    while pos < len(payload):
        space = payload.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(payload[pos:space])
        except ValueError as err:
            raise CorruptImage("tar PAX header: invalid record length") from err
        if length <= 0 or pos + length > len(payload):
            raise CorruptImage("tar PAX header: record overruns the header")
        key, _, value = payload[space + 1 : pos + length - 1].partition(b"=")
        name = key.decode("utf-8", "surrogateescape")
        if name in records:
            raise CorruptImage(f"tar PAX header repeats {name!r}: readers disagree on which wins")
        if name not in ("path", "size", "linkpath") and name not in _PAX_METADATA:
            raise CorruptImage(f"tar PAX key {name!r} is not supported in an OVA")
        records[name] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


_KINDS = {
    b"0": REGULAR,
    b"\x00": REGULAR,
    b"7": REGULAR,
    b"5": "directory",
    b"2": "symlink",
    b"1": "hardlink",
}


class _Pending:
    """Extension headers seen for the next member: at most one of each, never both."""

    def __init__(self) -> None:
        self.long_name: str | None = None
        self.pax: dict[str, str] | None = None

    def add(self, flag: bytes, payload: bytes, pos: int) -> None:
        if (flag == b"L" and self.long_name is not None) or (flag == b"x" and self.pax is not None):
            raise CorruptImage(f"tar header at offset {pos}: two extension headers of a kind")
        if flag == b"L":
            self.long_name = payload.split(b"\x00", 1)[0].decode("utf-8", "surrogateescape")
        else:
            self.pax = _pax_records(payload)
        if self.long_name is not None and self.pax is not None and "path" in self.pax:
            raise CorruptImage(
                f"tar header at offset {pos}: a GNU long name and a PAX path for one member"
            )


def read_tar_index(source: ByteSource, *, max_members: int) -> list[TarMember]:
    """List the members of a tar archive without reading their data."""
    members: list[TarMember] = []
    pos = 0
    pending = _Pending()
    while pos + _BLOCK <= source.size:
        header = source.read_at(pos, _BLOCK)
        if header == b"\x00" * _BLOCK:
            break
        if not _checksum_matches(header):
            raise CorruptImage(f"tar header at offset {pos}: checksum mismatch")
        size = _number(header[124:136], "size")
        data = pos + _BLOCK
        if data + size > source.size:
            raise CorruptImage(f"tar member at offset {pos} extends beyond the archive")
        flag = header[156:157]
        if flag in (b"L", b"x"):
            if size > _MAX_NAME_PAYLOAD:
                raise LimitExceeded(f"tar extended header at offset {pos} is {size} bytes")
            pending.add(flag, source.read_at(data, size), pos)
            pos = data + (size + _BLOCK - 1) // _BLOCK * _BLOCK
            continue
        kind = _KINDS.get(flag)
        if kind is None:
            raise CorruptImage(
                f"tar member at offset {pos} has type {flag!r}: not a plain file, directory or "
                "link (GNU long links, sparse files and global headers are not accepted)"
            )
        pax = pending.pax or {}
        if "size" in pax:
            if not is_decimal(pax["size"]):
                raise CorruptImage(f"tar PAX size at offset {pos} is invalid")
            size = int(pax["size"])
            if data + size > source.size:
                raise CorruptImage(f"tar member at offset {pos} extends beyond the archive")
        if kind != REGULAR and size:
            raise CorruptImage(f"tar {kind} entry at offset {pos} claims {size} bytes of data")
        name = _text(header[0:100])
        if header[257:265] == _POSIX_MAGIC and header[345:500].strip(b"\x00"):
            name = _text(header[345:500]) + "/" + name
        name = pax.get("path", pending.long_name if pending.long_name is not None else name)
        link = pax.get("linkpath", _text(header[157:257]))
        members.append(TarMember(name, kind, data, size, link))
        if len(members) > max_members:
            raise LimitExceeded(f"archive has more than {max_members} members")
        pending = _Pending()
        pos = data + (size + _BLOCK - 1) // _BLOCK * _BLOCK
    return members
