"""A bounded, read-in-place tar index for OVA packages.

Members are never extracted: each regular member becomes a slice of the archive. Member
names are untrusted; this module only records them, and ``ova`` decides what may be used.
Headers are parsed here rather than with ``tarfile`` because ``tarfile`` reads PAX and GNU
long-name payloads whole, whatever size the archive claims.
"""

from __future__ import annotations

from dataclasses import dataclass

from vmguard.disk.errors import CorruptImage, LimitExceeded
from vmguard.disk.source import ByteSource

_BLOCK = 512
_MAX_NAME_PAYLOAD = 64 * 1024
REGULAR = "regular"


@dataclass(frozen=True, slots=True)
class TarMember:
    """One archive member, located in place."""

    name: str
    kind: str
    """"regular", "directory", "symlink", "hardlink" or "other"."""
    offset: int
    """Offset of the member's data in the archive."""
    size: int
    link_target: str = ""


def _octal(field: bytes, what: str) -> int:
    if field and field[0] & 0x80:  # GNU base-256
        value = int.from_bytes(field[1:], "big")
        return value
    text = field.split(b"\x00", 1)[0].strip(b" \x00")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError as err:
        raise CorruptImage(f"tar header: invalid {what} field {text[:24]!r}") from err


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
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
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


def read_tar_index(source: ByteSource, *, max_members: int) -> list[TarMember]:
    """List the members of a tar archive without reading their data."""
    members: list[TarMember] = []
    pos = 0
    long_name: str | None = None
    pax: dict[str, str] = {}
    while pos + _BLOCK <= source.size:
        header = source.read_at(pos, _BLOCK)
        if header == b"\x00" * _BLOCK:
            break
        stored = _octal(header[148:156], "checksum")
        computed = sum(header[:148]) + 8 * 32 + sum(header[156:])
        if stored != computed:
            raise CorruptImage(f"tar header at offset {pos}: checksum mismatch")
        size = _octal(header[124:136], "size")
        data = pos + _BLOCK
        if size < 0 or data + size > source.size:
            raise CorruptImage(f"tar member at offset {pos} extends beyond the archive")
        flag = header[156:157]
        next_pos = data + (size + _BLOCK - 1) // _BLOCK * _BLOCK
        if flag in (b"L", b"x", b"g"):
            if size > _MAX_NAME_PAYLOAD:
                raise LimitExceeded(f"tar extended header at offset {pos} is {size} bytes")
            payload = source.read_at(data, size)
            if flag == b"L":
                long_name = payload.split(b"\x00", 1)[0].decode("utf-8", "surrogateescape")
            elif flag == b"x":
                pax = _pax_records(payload)
            pos = next_pos
            continue
        name = _text(header[0:100])
        if header[257:262] == b"ustar" and header[345:500].strip(b"\x00"):
            name = _text(header[345:500]) + "/" + name
        name = pax.get("path", long_name if long_name is not None else name)
        if "size" in pax:
            try:
                size = int(pax["size"])
            except ValueError as err:
                raise CorruptImage(f"tar PAX size at offset {pos} is invalid") from err
            if size < 0 or data + size > source.size:
                raise CorruptImage(f"tar member at offset {pos} extends beyond the archive")
            next_pos = data + (size + _BLOCK - 1) // _BLOCK * _BLOCK
        kind = _KINDS.get(flag, "other")
        link = pax.get("linkpath", _text(header[157:257]))
        members.append(TarMember(name, kind, data, size, link))
        if len(members) > max_members:
            raise LimitExceeded(f"archive has more than {max_members} members")
        long_name, pax = None, {}
        pos = next_pos
    return members
