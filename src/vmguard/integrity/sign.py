"""Make a bundle's manifest and sign it into a DSSE envelope.

Reads every byte of every file once (SHA-256 and BLAKE3 need them all; holes are fed as
zeros without a read) and the guest-visible disk once, skipping what its container says is
unallocated. Never writes to an input; the envelope goes wherever the caller puts it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import blake3

from vmguard import __version__
from vmguard.disk.image import OpenedImage
from vmguard.disk.source import FileSource
from vmguard.integrity.bundle import classify, open_disk, read_definition
from vmguard.integrity.domain import canonical_domain
from vmguard.integrity.envelope import sign_envelope, statement_bytes
from vmguard.integrity.keys import SigningKey
from vmguard.integrity.manifest import DefinitionRecord, DiskRecord, FileRecord, Manifest
from vmguard.integrity.merkle import (
    CHUNK_SIZE,
    FILE_CHUNK_SIZE,
    ByteProgress,
    FlatDigests,
    hash_source,
    reporting,
)


@dataclass(frozen=True, slots=True)
class SignOptions:
    """How to open the bundle's disks and what to stamp on the manifest."""

    manifest_version: int = 1
    signed_at: datetime | None = None
    """Defaults to now (UTC)."""
    forced_format: str | None = None
    allowed_dirs: tuple[Path, ...] = ()
    follow_references: bool = True
    """False (``--isolated``): a disk naming any other file is refused."""


def _file_record(path: Path, fmt: str | None, progress: ByteProgress | None) -> FileRecord:
    flat = FlatDigests()
    with FileSource(path) as source:
        done = reporting(progress, f"hashing {path.name}", source.size)
        digest = hash_source(source, chunk_size=FILE_CHUNK_SIZE, flat=flat, progress=done)
    return FileRecord(
        path.name,
        digest.size,
        flat.sha256.hexdigest(),
        flat.blake3.hexdigest(),
        digest.root.hex(),
        fmt,
    )


def _formats(image: OpenedImage) -> dict[Path, str]:
    formats = {Path(link.path): link.format for link in image.backing_chain}
    formats[image.path] = image.format
    return formats


def disk_record(image: OpenedImage, progress: ByteProgress | None = None) -> DiskRecord:
    """Digest one opened disk: each of its files, then its guest-visible content."""
    formats = _formats(image)
    files = tuple(
        _file_record(path, formats.get(path, "data"), progress) for path in image.opened_files
    )
    disk = image.disks[0]
    done = reporting(progress, f"hashing the guest content of {image.path.name}", disk.disk.size)
    content = hash_source(disk.disk, chunk_size=CHUNK_SIZE, progress=done)
    return DiskRecord(
        name=image.path.name,
        format=disk.format,
        variant=disk.variant,
        virtual_size=content.size,
        chunk_size=content.chunk_size,
        content_root=content.root.hex(),
        chunk_hashes=content.leaves.encode(),
        files=files,
    )


def definition_record(path: Path, kind: str, data: bytes) -> DefinitionRecord:
    """Digest one definition file (and the canonical form of a libvirt domain)."""
    record = FileRecord(
        path.name, len(data), hashlib.sha256(data).hexdigest(), blake3.blake3(data).hexdigest()
    )
    canonical = hashlib.sha256(canonical_domain(data)).hexdigest() if kind == "libvirt" else None
    return DefinitionRecord(kind, record, canonical)


def build_manifest(
    paths: Sequence[Path], options: SignOptions, progress: ByteProgress | None = None
) -> Manifest:
    """The manifest of a bundle given as disk image and definition paths."""
    bundle = classify(paths)
    disks = tuple(
        disk_record(
            open_disk(
                p,
                forced_format=options.forced_format,
                allowed_dirs=options.allowed_dirs,
                follow_references=options.follow_references,
            ),
            progress,
        )
        for p in bundle.disks
    )
    definitions = tuple(
        definition_record(p, kind, read_definition(p, kind)) for p, kind in bundle.definitions
    )
    return Manifest(
        version=options.manifest_version,
        signed_at=options.signed_at or datetime.now(UTC).replace(microsecond=0),
        disks=disks,
        definitions=definitions,
        tool=f"vmguard {__version__}",
    )


def sign_manifest(manifest: Manifest, key: SigningKey, cert_chain: tuple[bytes, ...] = ()) -> bytes:
    """The DSSE envelope (JSON bytes) over the manifest's in-toto statement."""
    return sign_envelope(statement_bytes(manifest), key, cert_chain)
