"""The bundle manifest: what a signature says about each disk, backing file and definition.

A manifest is the in-toto predicate of the signed statement. Parsing one is bounded (counts,
name lengths, digest shapes) and happens only after the envelope's signature was verified;
it still never trusts a field it did not check. Nothing here opens a file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vmguard.integrity.errors import EnvelopeMalformed
from vmguard.integrity.leaves import Leaves
from vmguard.integrity.merkle import CHUNK_SIZE, MAX_LEAVES, chunk_count, zero_leaf

PREDICATE_TYPE = "https://vmguard.dev/attestation/vm-bundle/v1"
MAX_DISKS = 64
MAX_FILES_PER_DISK = 17
MAX_DEFINITIONS = 16
MAX_NAME = 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK_SIZES = frozenset({64 * 1024 << n for n in range(0, 11)})
DEFINITION_KINDS = ("libvirt", "vmx", "vbox", "ovf")


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One host file of the bundle as signed: a disk image, a backing file or a definition."""

    name: str
    """Base name at signing time (for messages and in-toto subjects)."""
    size: int
    sha256: str
    """Hex SHA-256 of every byte: what in-toto verifiers and OpenStack Glance check."""
    blake3: str
    """Hex BLAKE3 of every byte: what ``b3sum`` prints."""
    merkle_root: str | None = None
    """Hex Merkle root over the file's 1 MiB chunks (images only): verify's fast path."""
    format: str | None = None
    """Container format (images only)."""


@dataclass(frozen=True, slots=True)
class DiskRecord:
    """One guest-visible disk: its content digest and the files that make it."""

    name: str
    format: str
    variant: str
    virtual_size: int
    chunk_size: int
    content_root: str
    """Hex Merkle root over the guest-visible disk."""
    chunk_hashes: str = field(repr=False)
    """Encoded chunk hashes of the guest-visible disk (``Leaves.encode``), to say what changed.

    Kept encoded: a disk whose files match never needs them, and decoding a large disk's
    hashes costs more than verifying its signature. ``leaves()`` decodes and checks them.
    """
    files: tuple[FileRecord, ...]
    """The image file, then its backing files, nearest first."""

    def leaves(self) -> Leaves:
        """The chunk hashes, bounded by the disk's chunk count and checked against its root."""
        where = f"disk {self.name}"
        leaves = Leaves.decode(
            self.chunk_hashes,
            chunk_count(self.virtual_size, self.chunk_size),
            zero_leaf(self.chunk_size),
            MAX_LEAVES,
        )
        if leaves.root().hex() != self.content_root:
            raise EnvelopeMalformed(f"{where}: chunk hashes do not add up to the content root")
        return leaves


@dataclass(frozen=True, slots=True)
class DefinitionRecord:
    """One VM definition file."""

    kind: str
    """libvirt, vmx, vbox or ovf."""
    file: FileRecord
    canonical_sha256: str | None = None
    """libvirt only: SHA-256 of the canonical domain (see ``domain.canonical_domain``)."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """Everything one signature covers."""

    version: int
    """Manifest version chosen by the signer; ``--min-version`` refuses older ones."""
    signed_at: datetime
    """When it was signed (timezone-aware); ``--not-before`` refuses older ones."""
    disks: tuple[DiskRecord, ...]
    definitions: tuple[DefinitionRecord, ...]
    tool: str = "vmguard"


def _file_json(f: FileRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"name": f.name, "size": f.size, "sha256": f.sha256, "blake3": f.blake3}
    if f.merkle_root is not None:
        out["merkleRoot"] = f.merkle_root
    if f.format is not None:
        out["format"] = f.format
    return out


def manifest_to_predicate(m: Manifest) -> dict[str, Any]:
    """The manifest as the statement's predicate (JSON-ready)."""
    return {
        "manifestVersion": m.version,
        "signedAt": m.signed_at.isoformat(timespec="seconds"),
        "tool": m.tool,
        "hash": {
            "merkle": "blake3-rfc6962",
            "leafPrefix": "00",
            "nodePrefix": "01",
            "chunkHashes": "zlib+base64 of (u64 big-endian index, 32-byte leaf) for every "
            "chunk whose leaf is not that of an all-zero chunk",
        },
        "disks": [
            {
                "name": d.name,
                "format": d.format,
                "variant": d.variant,
                "virtualSize": d.virtual_size,
                "chunkSize": d.chunk_size,
                "contentRoot": d.content_root,
                "chunkHashes": d.chunk_hashes,
                "files": [_file_json(f) for f in d.files],
            }
            for d in m.disks
        ],
        "definitions": [
            {"kind": x.kind, **_file_json(x.file)}
            | ({"canonicalSha256": x.canonical_sha256} if x.canonical_sha256 else {})
            for x in m.definitions
        ],
    }


def _get(obj: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise EnvelopeMalformed(f"{where}: {key!r} missing or not {kind.__name__}")
    return value


def _hex(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = _get(obj, key, str, where)
    if not _HEX64.match(value):
        raise EnvelopeMalformed(f"{where}: {key!r} is not 64 lowercase hex digits")
    return str(value)


def _name(obj: Mapping[str, Any], where: str) -> str:
    value = _get(obj, "name", str, where)
    if not value or len(value) > MAX_NAME:
        raise EnvelopeMalformed(f"{where}: name empty or longer than {MAX_NAME}")
    return str(value)


def _size(obj: Mapping[str, Any], key: str, where: str) -> int:
    value = _get(obj, key, int, where)
    if value < 0 or value > 1 << 56:
        raise EnvelopeMalformed(f"{where}: {key!r} out of range")
    return int(value)


def _file(obj: Any, where: str) -> FileRecord:
    if not isinstance(obj, dict):
        raise EnvelopeMalformed(f"{where}: not an object")
    root = _hex(obj, "merkleRoot", where) if "merkleRoot" in obj else None
    fmt = _get(obj, "format", str, where)[:32] if "format" in obj else None
    return FileRecord(
        _name(obj, where),
        _size(obj, "size", where),
        _hex(obj, "sha256", where),
        _hex(obj, "blake3", where),
        root,
        fmt,
    )


def _list(obj: Mapping[str, Any], key: str, limit: int, where: str) -> list[Any]:
    value = _get(obj, key, list, where)
    if len(value) > limit:
        raise EnvelopeMalformed(f"{where}: more than {limit} {key}")
    return list(value)


def _disk(obj: Any, where: str) -> DiskRecord:
    if not isinstance(obj, dict):
        raise EnvelopeMalformed(f"{where}: not an object")
    size = _size(obj, "virtualSize", where)
    chunk = _get(obj, "chunkSize", int, where)
    if chunk not in _CHUNK_SIZES:
        raise EnvelopeMalformed(f"{where}: unsupported chunk size {chunk}")
    files = tuple(
        _file(f, f"{where} file {i}")
        for i, f in enumerate(_list(obj, "files", MAX_FILES_PER_DISK, where))
    )
    if not files:
        raise EnvelopeMalformed(f"{where}: no files")
    if chunk_count(size, chunk) > MAX_LEAVES:
        raise EnvelopeMalformed(f"{where}: more than {MAX_LEAVES} chunks")
    return DiskRecord(
        _name(obj, where),
        _get(obj, "format", str, where)[:32],
        _get(obj, "variant", str, where)[:64],
        size,
        chunk,
        _hex(obj, "contentRoot", where),
        _get(obj, "chunkHashes", str, where),
        files,
    )


def _definition(obj: Any, where: str) -> DefinitionRecord:
    if not isinstance(obj, dict):
        raise EnvelopeMalformed(f"{where}: not an object")
    kind = _get(obj, "kind", str, where)
    if kind not in DEFINITION_KINDS:
        raise EnvelopeMalformed(f"{where}: unknown definition kind")
    canonical = _hex(obj, "canonicalSha256", where) if "canonicalSha256" in obj else None
    return DefinitionRecord(kind, _file(obj, where), canonical)


def manifest_from_predicate(predicate: Any) -> Manifest:
    """Parse and bound-check a predicate; raises ``EnvelopeMalformed``."""
    if not isinstance(predicate, dict):
        raise EnvelopeMalformed("predicate is not an object")
    where = "manifest"
    merkle = predicate.get("hash")
    if not isinstance(merkle, dict) or merkle.get("merkle") != "blake3-rfc6962":
        raise EnvelopeMalformed("manifest: unknown Merkle tree construction")
    try:
        signed_at = datetime.fromisoformat(_get(predicate, "signedAt", str, where))
    except ValueError as err:
        raise EnvelopeMalformed("manifest: signedAt is not an ISO 8601 time") from err
    if signed_at.tzinfo is None:
        raise EnvelopeMalformed("manifest: signedAt has no timezone")
    disks = tuple(
        _disk(d, f"disk {i}") for i, d in enumerate(_list(predicate, "disks", MAX_DISKS, where))
    )
    definitions = tuple(
        _definition(d, f"definition {i}")
        for i, d in enumerate(_list(predicate, "definitions", MAX_DEFINITIONS, where))
    )
    return Manifest(
        _size(predicate, "manifestVersion", where),
        signed_at,
        disks,
        definitions,
        str(predicate.get("tool", "vmguard"))[:64],
    )


__all__ = [
    "CHUNK_SIZE",
    "PREDICATE_TYPE",
    "DefinitionRecord",
    "DiskRecord",
    "FileRecord",
    "Manifest",
    "manifest_from_predicate",
    "manifest_to_predicate",
]
