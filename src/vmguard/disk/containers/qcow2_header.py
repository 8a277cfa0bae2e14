"""Parse and validate a qcow2 header and its extensions, before anything else is read.

Every field is untrusted: offsets and lengths are checked against the file size, the qcow2
specification and ``Limits`` before any table is allocated or read. Messages follow qemu's
wording where qemu has one. This module must never open a file a header names (backing
file, data file): it only returns the names as untrusted strings.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vmguard.disk.errors import CorruptImage, LimitExceeded, UnsupportedFormat
from vmguard.disk.limits import Limits
from vmguard.disk.source import ByteSource
from vmguard.text import shown_name

QCOW2_MAGIC = b"QFI\xfb"

_V2_HEADER = struct.Struct(">4sIQIIQIIQQIIQ")  # 72 bytes
_V3_FIELDS = struct.Struct(">QQQII")  # bytes 72..103
_V2_HEADER_LENGTH = 72
_V3_MIN_HEADER_LENGTH = 104
_COMPRESSION_TYPE_OFFSET = 104

MIN_CLUSTER_BITS = 9
MAX_CLUSTER_BITS = 21
_MAX_BACKING_NAME = 1023
_MAX_BACKING_FORMAT = 15  # qemu keeps it in char[16]
_MAX_REFTABLE_BYTES = 8 * 1024 * 1024  # qemu's QCOW_MAX_REFTABLE_SIZE
_MAX_VIRTUAL_SIZE = (1 << 63) - 1

INCOMPAT_DIRTY = 1 << 0
INCOMPAT_CORRUPT = 1 << 1
INCOMPAT_DATA_FILE = 1 << 2
INCOMPAT_COMPRESSION = 1 << 3
INCOMPAT_EXTENDED_L2 = 1 << 4
_INCOMPAT_KNOWN = (
    INCOMPAT_DIRTY
    | INCOMPAT_CORRUPT
    | INCOMPAT_DATA_FILE
    | INCOMPAT_COMPRESSION
    | INCOMPAT_EXTENDED_L2
)
AUTOCLEAR_DATA_FILE_RAW = 1 << 1

EXT_END = 0x00000000
EXT_BACKING_FORMAT = 0xE2792ACA
EXT_FEATURE_TABLE = 0x6803F857
EXT_DATA_FILE = 0x44415441
_EXT_HEADER = struct.Struct(">II")
_FEATURE_ENTRY = 48  # type u8, bit u8, name char[46]

COMPRESSION_ZLIB = 0
COMPRESSION_ZSTD = 1


@dataclass(frozen=True, slots=True)
class Qcow2Header:
    """The validated fields of a qcow2 header that reading the active disk needs."""

    version: int
    """2 or 3."""
    cluster_bits: int
    """log2 of the cluster size, 9..21."""
    virtual_size: int
    """Guest-visible size in bytes."""
    l1_offset: int
    """Host offset of the active L1 table (cluster aligned, inside the file)."""
    l1_entries: int
    """Entries of the active L1 table that can map guest data (``min(l1_size, needed)``)."""
    incompatible: int
    """Incompatible feature bits (only known ones survive validation)."""
    autoclear: int
    """Autoclear feature bits."""
    compression_type: int
    """0 = zlib (raw deflate), 1 = zstd."""
    backing_name: str | None
    """Backing file name exactly as stored (undecodable bytes as surrogates), if any."""
    backing_format: str | None
    """Format declared for the backing file by extension 0xE2792ACA, if any."""
    data_file_name: str | None
    """External data file name from extension 0x44415441, if any."""

    @property
    def cluster_size(self) -> int:
        """Bytes per cluster."""
        return 1 << self.cluster_bits

    @property
    def extended_l2(self) -> bool:
        """Whether L2 entries are 128 bits with a subcluster bitmap."""
        return bool(self.incompatible & INCOMPAT_EXTENDED_L2)

    @property
    def has_data_file(self) -> bool:
        """Whether guest data lives in an external data file."""
        return bool(self.incompatible & INCOMPAT_DATA_FILE)


def _name(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _feature_names(table: dict[int, str], bits: int) -> str:
    names = []
    for bit in range(64):
        if bits & (1 << bit):
            label = table.get(bit)
            names.append(f"bit {bit} ({shown_name(label)})" if label else f"bit {bit}")
    return ", ".join(names)


def _check_table(what: str, offset: int, length: int, cluster_size: int, file_size: int) -> None:
    """qemu's validate_table_offset plus a bound against the file's end."""
    if offset % cluster_size:
        raise CorruptImage(f"Invalid {what} offset {offset:#x}: not cluster aligned")
    if offset + length > file_size:
        raise CorruptImage(
            f"{what[0].upper()}{what[1:]} at {offset:#x} (+{length} bytes) exceeds the end "
            f"of the file ({file_size} bytes)"
        )


@dataclass(slots=True)
class _Extensions:
    backing_format: str | None = None
    data_file_name: str | None = None
    feature_names: dict[int, str] | None = None


def _read_extensions(first: bytes, start: int, end: int) -> _Extensions:
    """Walk header extensions in ``first[start:end]``; ``first`` is the first cluster."""
    found = _Extensions()
    if end > len(first) and start < end:
        raise CorruptImage(
            f"qcow2 header extensions end at {end} but the file has only {len(first)} bytes"
        )
    offset = start
    while offset < end:
        if offset + _EXT_HEADER.size > end:
            raise CorruptImage("Header extension too large")
        magic, length = _EXT_HEADER.unpack_from(first, offset)
        offset += _EXT_HEADER.size
        if length > end - offset:
            raise CorruptImage("Header extension too large")
        data = first[offset : offset + length]
        if magic == EXT_END:
            break
        if magic == EXT_BACKING_FORMAT:
            if length > _MAX_BACKING_FORMAT:
                raise CorruptImage(f"Backing format name too long ({length} bytes)")
            found.backing_format = _name(data)
        elif magic == EXT_DATA_FILE:
            if length > _MAX_BACKING_NAME:
                raise CorruptImage(f"Data file name too long ({length} bytes)")
            found.data_file_name = _name(data)
        elif magic == EXT_FEATURE_TABLE:
            names = found.feature_names = {}
            for pos in range(0, length - _FEATURE_ENTRY + 1, _FEATURE_ENTRY):
                kind, bit = data[pos], data[pos + 1]
                if kind == 0:  # incompatible
                    names[bit] = _name(data[pos + 2 : pos + _FEATURE_ENTRY].rstrip(b"\0"))
        offset += (length + 7) & ~7
    return found


def _v3_fields(head: bytes, cluster_size: int, file_size: int) -> tuple[int, int, int, int]:
    """(incompatible, autoclear, header_length, compression_type) of a v3 header."""
    if len(head) < _V3_MIN_HEADER_LENGTH:
        raise CorruptImage(f"qcow2 v3 header truncated ({len(head)} bytes)")
    incompatible, _compatible, autoclear, refcount_order, header_length = _V3_FIELDS.unpack_from(
        head, _V2_HEADER_LENGTH
    )
    if header_length < _V3_MIN_HEADER_LENGTH:
        raise CorruptImage(f"qcow2 header too short ({header_length} bytes)")
    if header_length > cluster_size:
        raise CorruptImage("qcow2 header exceeds cluster size")
    if header_length > file_size:
        raise CorruptImage(
            f"qcow2 header ({header_length} bytes) exceeds the file ({file_size} bytes)"
        )
    if refcount_order > 6:
        raise CorruptImage("Reference count entry width too large; may not exceed 64 bits")
    compression_type = COMPRESSION_ZLIB
    if header_length > _COMPRESSION_TYPE_OFFSET:
        compression_type = head[_COMPRESSION_TYPE_OFFSET]
    return incompatible, autoclear, header_length, compression_type


def _check_features(incompatible: int, compression_type: int, ext: _Extensions) -> None:
    unknown = incompatible & ~_INCOMPAT_KNOWN
    if unknown:
        names = _feature_names(ext.feature_names or {}, unknown)
        raise UnsupportedFormat(f"Unsupported qcow2 incompatible feature(s): {names}")
    if compression_type not in (COMPRESSION_ZLIB, COMPRESSION_ZSTD):
        raise UnsupportedFormat(f"Unknown qcow2 compression type {compression_type}")
    if bool(compression_type) != bool(incompatible & INCOMPAT_COMPRESSION):
        raise CorruptImage(
            f"compression type {compression_type} disagrees with the compression "
            "incompatible feature bit"
        )


def _l1_entries_needed(
    virtual_size: int, cluster_bits: int, incompatible: int, l1_size: int, limits: Limits
) -> int:
    if virtual_size > _MAX_VIRTUAL_SIZE:
        raise CorruptImage(f"Image is too big: virtual size {virtual_size}")
    entry_bits = 4 if incompatible & INCOMPAT_EXTENDED_L2 else 3
    l2_span_bits = cluster_bits + cluster_bits - entry_bits
    needed = (virtual_size + (1 << l2_span_bits) - 1) >> l2_span_bits
    if l1_size * 8 > limits.max_table_bytes:
        raise LimitExceeded(
            f"Active L1 table too large: {l1_size} entries (limit {limits.max_table_bytes // 8})"
        )
    if l1_size < needed:
        raise CorruptImage(
            f"L1 table is too small: {l1_size} entries for {virtual_size} bytes (needs {needed})"
        )
    return needed


def parse_header(source: ByteSource, limits: Limits) -> Qcow2Header:
    """Read, validate and return the header of the qcow2 image in ``source``.

    Raises ``CorruptImage`` (or ``LimitExceeded``) for an inconsistent or out-of-bounds
    field and ``UnsupportedFormat`` for a version, feature or encryption vmguard cannot read.
    """
    file_size = source.size
    head = source.read_at(0, _V3_MIN_HEADER_LENGTH + 8)
    if len(head) < _V2_HEADER_LENGTH:
        raise CorruptImage(f"file too short for a qcow2 header ({len(head)} bytes)")
    (
        magic,
        version,
        backing_offset,
        backing_size,
        cluster_bits,
        virtual_size,
        crypt_method,
        l1_size,
        l1_offset,
        reftable_offset,
        reftable_clusters,
        _nb_snapshots,  # snapshots are never read: only the active L1 matters
        _snapshots_offset,
    ) = _V2_HEADER.unpack_from(head)
    if magic != QCOW2_MAGIC:
        raise CorruptImage(f"not a qcow2 image: magic {shown_name(magic)!r}")
    if version not in (2, 3):
        raise UnsupportedFormat(f"Unsupported qcow2 version {version}")
    if cluster_bits < MIN_CLUSTER_BITS or cluster_bits > MAX_CLUSTER_BITS:
        raise CorruptImage(f"Unsupported cluster size: 2^{cluster_bits}")
    cluster_size = 1 << cluster_bits

    incompatible = autoclear = 0
    header_length = _V2_HEADER_LENGTH
    compression_type = COMPRESSION_ZLIB
    if version == 3:
        incompatible, autoclear, header_length, compression_type = _v3_fields(
            head, cluster_size, file_size
        )

    if crypt_method != 0:
        raise UnsupportedFormat("encrypted qcow2 (AES/LUKS) cannot be read without a key")

    # The first cluster holds the header, its extensions and the backing file name.
    first = source.read_at(0, cluster_size)
    ext_end = backing_offset if backing_offset else cluster_size
    if backing_offset > cluster_size:
        raise CorruptImage(f"Invalid backing file offset {backing_offset:#x}")
    ext = _read_extensions(first, header_length, ext_end)

    _check_features(incompatible, compression_type, ext)

    backing_name = None
    if backing_offset and backing_size:
        if backing_size > min(_MAX_BACKING_NAME, cluster_size - backing_offset):
            raise CorruptImage("Backing file name too long")
        raw = first[backing_offset : backing_offset + backing_size]
        if len(raw) < backing_size:
            raise CorruptImage("Backing file name extends beyond the end of the file")
        backing_name = _name(raw)

    l1_needed = _l1_entries_needed(virtual_size, cluster_bits, incompatible, l1_size, limits)
    _check_table("L1 table", l1_offset, l1_size * 8, cluster_size, file_size)

    reftable_bytes = reftable_clusters * cluster_size
    if reftable_bytes > _MAX_REFTABLE_BYTES:
        raise LimitExceeded(f"Reference count table too large: {reftable_clusters} clusters")
    _check_table("reference count table", reftable_offset, reftable_bytes, cluster_size, file_size)

    return Qcow2Header(
        version=version,
        cluster_bits=cluster_bits,
        virtual_size=virtual_size,
        l1_offset=l1_offset,
        l1_entries=l1_needed,
        incompatible=incompatible,
        autoclear=autoclear,
        compression_type=compression_type,
        backing_name=backing_name,
        backing_format=ext.backing_format,
        data_file_name=ext.data_file_name,
    )
