"""VMDK text descriptors: bytes from an untrusted image in, validated ``Descriptor`` out.

The descriptor is where a VMDK names other host files (extents, the parent of a delta
disk). This module only parses and validates the text; it must never resolve, open or
normalise any file name it finds. Names stay untrusted strings for the caller, who hands
them to a ``ReferenceOpener``.

It also reads the descriptor embedded in a sparse file (bounded by ``Limits``) and checks
that such a descriptor describes nothing but the file itself.

The grammar is deliberately strict: a line that is not a comment, a blank line, a
``key = value`` pair or an extent line is an error, and so is a key given twice. Lenient
parsers disagree about such lines (qemu looks keys up with ``strstr``, comments included),
and disagreement between parsers is how a hostile descriptor hides a reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vmguard.disk.errors import CorruptImage, ImageRefused, LimitExceeded
from vmguard.disk.limits import Limits
from vmguard.disk.source import ByteSource
from vmguard.text import shown_name

_SECTOR = 512
QEMU_DESCRIPTOR_AT = 0x200
QEMU_DESCRIPTOR_SIZE = 10240
"""Where and how much qemu reads, whatever the header says, to find a sparse file's parent
(parentFileNameHint) and CIDs (block/vmdk.c: desc_offset = 0x200, DESC_SIZE)."""
NO_PARENT_CID = "ffffffff"
"""``parentCID`` of a disk that has no parent."""

_EXACT_KEYS = frozenset({"createType", "parentFileNameHint"})
QEMU_SEARCHED_BYTES = 10240
"""qemu looks for CID, parentCID and parentFileNameHint in a descriptor's first 10 KiB."""
_KEY_VALUE = re.compile(r"([A-Za-z][A-Za-z0-9_.\-]{0,127})[ \t]*=[ \t]*(.*?)[ \t]*")
_EXTENT = re.compile(
    r"(RW|RDONLY|NOACCESS)[ \t]+(\d{1,20})[ \t]+([A-Z]{1,16})"
    r'(?:[ \t]+"([^"]*)")?(?:[ \t]+(\d{1,20}))?[ \t]*'
)
_CID = re.compile(r"[0-9A-Fa-f]{1,8}")
# Keys other parsers look up by substring anywhere in the text: a second mention (in a
# comment, or a longer key) would make them see a different disk than we do.
_SUBSTRING_KEYS = ("createType", "parentFileNameHint", "parentCID")


@dataclass(frozen=True, slots=True)
class ExtentLine:
    """One extent line: ``RW 2097152 FLAT "disk-flat.vmdk" 0``."""

    access: str
    """RW, RDONLY or NOACCESS."""
    sectors: int
    """Length of the extent in 512-byte sectors (> 0)."""
    type: str
    """FLAT, SPARSE, ZERO, VMFS, VMFSSPARSE, SESPARSE, VMFSRDM, ... (not yet vetted)."""
    filename: str | None
    """The extent file name exactly as written (untrusted); None when absent."""
    offset: int
    """Start of the extent inside its file, in sectors (FLAT only, else 0)."""
    line: int
    """1-based line number in the descriptor, for messages."""


@dataclass(frozen=True, slots=True)
class Descriptor:
    """A parsed descriptor: its keys and its extents, in order."""

    entries: tuple[tuple[str, str], ...]
    """Every ``key = value`` pair in order, quotes removed from values."""
    extents: tuple[ExtentLine, ...]
    """Extent lines in order: they are concatenated to form the disk."""

    def get(self, key: str) -> str | None:
        """The value of ``key`` (keys are unique), or None."""
        for k, v in self.entries:
            if k == key:
                return v
        return None

    @property
    def create_type(self) -> str | None:
        """The ``createType`` value, e.g. ``monolithicSparse``."""
        return self.get("createType")

    @property
    def parent_hint(self) -> str | None:
        """``parentFileNameHint``: the parent of a delta disk (untrusted name)."""
        return self.get("parentFileNameHint")

    @property
    def parent_cid(self) -> str | None:
        """``parentCID`` in lower case, or None when absent (no parent)."""
        value = self.get("parentCID")
        return None if value is None else value.lower()

    @property
    def has_parent(self) -> bool:
        """True for a delta disk: a parent hint, or a parentCID other than ffffffff."""
        cid = self.parent_cid
        return self.parent_hint is not None or (cid is not None and cid != NO_PARENT_CID)

    @property
    def total_sectors(self) -> int:
        """Sum of the extents' lengths in sectors: the disk size."""
        return sum(e.sectors for e in self.extents)


def decode_descriptor(raw: bytes, limits: Limits) -> str:
    """Check size and encoding of descriptor bytes and return the text.

    The text ends at the first NUL byte, as in qemu and VMware (a C string): what follows
    is sector padding, or the stale tail qemu leaves whenever it rewrites the CID line
    with a shorter CID (``vmdk_write_cid`` writes the whole descriptor sector run back),
    which real images used by a VM carry. Reading past it would see what the hypervisor
    does not.
    """
    if len(raw) > limits.max_descriptor_bytes:
        raise LimitExceeded(
            f"VMDK descriptor is {len(raw)} bytes (limit {limits.max_descriptor_bytes})"
        )
    body = raw.split(b"\x00", 1)[0]
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CorruptImage(f"VMDK descriptor is not UTF-8 text (byte {err.start})") from err


def parse_descriptor(text: str, limits: Limits) -> Descriptor:
    """Parse descriptor text; raise CorruptImage on any line that is not understood."""
    entries: list[tuple[str, str]] = []
    seen: set[str] = set()
    extents: list[ExtentLine] = []
    blank_before = False
    for number, raw_line in enumerate(text.split("\n"), start=1):
        line = raw_line.removesuffix("\r").strip(" \t")
        if not line or line.startswith("#"):
            blank_before = not line
            continue
        extent = _EXTENT.fullmatch(line)
        if extent is not None and blank_before:
            # qemu scans extents with sscanf over the rest of the buffer: a blank line just
            # before an extent line makes it read that extent twice.
            raise ImageRefused(f"VMDK descriptor line {number}: an extent right after a blank line")
        blank_before = False
        if extent is not None:
            if len(extents) >= limits.max_extents:
                raise LimitExceeded(f"VMDK descriptor lists more than {limits.max_extents} extents")
            extents.append(_extent_line(extent, number, line))
            continue
        pair = _KEY_VALUE.fullmatch(line)
        if pair is None:
            raise CorruptImage(f"invalid VMDK descriptor line {number}: {shown_name(line[:80])!r}")
        key, value = pair.group(1), _unquote(pair.group(2))
        if key in _EXACT_KEYS and not re.fullmatch(rf'{key}="[^"]*"', line):
            # qemu skips a fixed number of characters after the key and reads to the next
            # quote: any other spelling means another value there.
            raise ImageRefused(
                f'VMDK descriptor line {number}: {key} must be written {key}="..." exactly'
            )
        if key in seen:
            raise CorruptImage(f"VMDK descriptor line {number} repeats key {key!r}")
        seen.add(key)
        entries.append((key, value))
    descriptor = Descriptor(entries=tuple(entries), extents=tuple(extents))
    _check_unambiguous(text, descriptor)
    return descriptor


def read_embedded_descriptor(
    source: ByteSource, offset: int, sectors: int, limits: Limits
) -> Descriptor | None:
    """The descriptor inside a sparse file, or None when it has none (or it is blank).

    The header says where it is, but qemu looks for the parent and the CIDs in the text at
    0x200 instead: an image where the two differ would have qemu follow a parent vmguard
    never sees, so it is refused.
    """
    qemu_view = source.read_at(QEMU_DESCRIPTOR_AT, QEMU_DESCRIPTOR_SIZE).split(b"\x00", 1)[0]
    if sectors == 0:
        if b"parentFileNameHint" in qemu_view:
            raise ImageRefused(
                "sparse VMDK without a descriptor holds a parentFileNameHint at 0x200, where "
                "qemu would find it: refused as ambiguous"
            )
        return None
    length = sectors * _SECTOR
    if length > limits.max_descriptor_bytes:
        raise LimitExceeded(
            f"VMDK embedded descriptor is {length} bytes (limit {limits.max_descriptor_bytes})"
        )
    start = offset * _SECTOR
    if offset == 0 or start + length > source.size:
        raise CorruptImage(
            f"VMDK embedded descriptor at {start} (+{length}) lies outside the file "
            f"of {source.size} bytes"
        )
    raw = source.read_at(start, length)
    if raw.split(b"\x00", 1)[0] != qemu_view:
        raise ImageRefused(
            f"VMDK descriptor at {start} (+{length}), where the header points, differs from "
            f"the text at {QEMU_DESCRIPTOR_AT}, where qemu reads parent and CID: refused as "
            "ambiguous"
        )
    text = decode_descriptor(raw, limits)
    if not text.strip():
        return None
    return parse_descriptor(text, limits)


def check_describes_only_itself(descriptor: Descriptor, capacity: int) -> None:
    """A sparse file's descriptor may only list one SPARSE extent: the file itself."""
    extents = descriptor.extents
    if not extents:
        raise CorruptImage("sparse VMDK's embedded descriptor lists no extent")
    for extent in extents:
        if extent is not extents[0] or extent.type != "SPARSE":
            raise ImageRefused(
                f"sparse VMDK's embedded descriptor names {extent.type} extent "
                f"{shown_name(extent.filename or '')!r} (line {extent.line}): a single-file "
                "VMDK may only describe itself"
            )
    if extents[0].sectors != capacity:
        raise CorruptImage(
            f"sparse VMDK's descriptor declares {extents[0].sectors} sectors, its header {capacity}"
        )


def _extent_line(match: re.Match[str], number: int, line: str) -> ExtentLine:
    access, sectors, kind, name, offset = match.groups()
    count = int(sectors)
    if count == 0:
        raise CorruptImage(f"VMDK descriptor line {number}: extent of 0 sectors")
    if kind == "FLAT" and (name is None or offset is None):
        raise CorruptImage(
            f"invalid VMDK descriptor line {number}: FLAT extent needs a file name and "
            f"an offset: {shown_name(line[:80])!r}"
        )
    if kind != "FLAT" and offset is not None and int(offset) != 0:
        raise CorruptImage(
            f"invalid VMDK descriptor line {number}: only FLAT extents take an offset"
        )
    if kind not in ("ZERO",) and name is None:
        raise CorruptImage(
            f"invalid VMDK descriptor line {number}: {kind} extent without a file name"
        )
    return ExtentLine(
        access=access,
        sectors=count,
        type=kind,
        filename=name,
        offset=int(offset) if offset is not None and kind == "FLAT" else 0,
        line=number,
    )


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _check_unambiguous(text: str, descriptor: Descriptor) -> None:
    """Refuse text where a substring search would find a key we did not parse as one."""
    raw = text.encode("utf-8", "surrogateescape")
    for searched in ("CID", "parentFileNameHint"):
        needle = searched.encode()
        if raw.count(needle) != raw[:QEMU_SEARCHED_BYTES].count(needle):
            raise ImageRefused(
                f"VMDK descriptor names {searched} past its first {QEMU_SEARCHED_BYTES} "
                "bytes, where qemu does not look: ambiguous descriptor"
            )
    for key in _SUBSTRING_KEYS:
        mentions = text.count(key)
        parsed = sum(1 for k, _ in descriptor.entries if k == key)
        if mentions != parsed:
            raise CorruptImage(
                f"VMDK descriptor mentions {key} {mentions} times but sets it {parsed} "
                "times: ambiguous descriptor"
            )
    cid = descriptor.get("parentCID")
    if cid is not None and _CID.fullmatch(cid) is None:
        raise CorruptImage(f"VMDK descriptor parentCID {shown_name(cid)!r} is not hexadecimal")
