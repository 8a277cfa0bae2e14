"""Verify a bundle against a signed manifest: raise ``VerificationFailed`` or return.

Order matters: the envelope's signature is checked before its payload is parsed; then the
manifest's age; then each definition and disk. A disk is first compared file by file
(Merkle roots over the container files, holes never read): when every file matches, the
disk is what was signed. Otherwise its guest-visible content is hashed and compared chunk
by chunk, so a ``qemu-img convert``-ed copy still verifies (unless ``exact``) and a modified
one is reported with the changed byte ranges and the guest files in them.

Opens only the paths it is given, and backing files through the disk layer's policy.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from vmguard.disk.image import OpenedImage
from vmguard.disk.source import FileSource
from vmguard.integrity.bundle import classify, open_disk, read_definition
from vmguard.integrity.changes import Change, ChangeKind
from vmguard.integrity.domain import canonical_domain
from vmguard.integrity.envelope import parse_envelope, parse_statement
from vmguard.integrity.errors import BundleModified, ManifestTooOld
from vmguard.integrity.manifest import DefinitionRecord, DiskRecord, Manifest
from vmguard.integrity.merkle import FILE_CHUNK_SIZE, ByteProgress, hash_source, reporting
from vmguard.integrity.trust import Signer, TrustStore, verify_envelope

FILE_WORKERS = min(4, os.cpu_count() or 1)
"""Threads hashing container files on the fast path (pread and BLAKE3 release the GIL)."""


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """Policy for one verification."""

    not_before: datetime | None = None
    """Refuse manifests signed before this time (downgrade protection)."""
    min_version: int | None = None
    """Refuse manifests with a lower ``manifestVersion``."""
    exact: bool = False
    """Require the container files themselves to match, not only the guest content."""
    forced_format: str | None = None
    allowed_dirs: tuple[Path, ...] = ()
    follow_references: bool = True
    """False (``--isolated``): a disk naming any other file is refused."""
    at: datetime | None = None
    """Time at which certificate chains must be valid (default: now)."""


@dataclass(frozen=True, slots=True)
class DefinitionInput:
    """A definition to check, already read (the gate gets the domain XML on stdin)."""

    name: str
    kind: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class VerifiedBundle:
    """A bundle that matched a trusted manifest."""

    signer: Signer
    manifest: Manifest
    notes: tuple[str, ...] = ()
    """Accepted differences, e.g. a container re-encoded with identical content."""


def _check_age(manifest: Manifest, options: VerifyOptions) -> None:
    if options.not_before is not None and manifest.signed_at < options.not_before:
        raise ManifestTooOld(
            f"manifest signed at {manifest.signed_at.isoformat()} is older than --not-before "
            f"{options.not_before.isoformat()}: refusing a downgrade to an older bundle"
        )
    if options.min_version is not None and manifest.version < options.min_version:
        raise ManifestTooOld(
            f"manifest version {manifest.version} is lower than --min-version "
            f"{options.min_version}: refusing a downgrade to an older bundle"
        )


def _check_definition(record: DefinitionRecord, given: DefinitionInput) -> Change | None:
    if record.kind != given.kind:
        reason = f"a {given.kind} definition where a {record.kind} one was signed"
        return Change(ChangeKind.DEFINITION, record.file.name, given.name, reason)
    if hashlib.sha256(given.data).hexdigest() == record.file.sha256:
        return None
    if record.canonical_sha256 is not None:
        canonical = hashlib.sha256(canonical_domain(given.data)).hexdigest()
        if canonical == record.canonical_sha256:
            return None
    reason = f"definition differs from the signed {record.file.name}"
    return Change(ChangeKind.DEFINITION, record.file.name, given.name, reason)


def _files_match(
    image: OpenedImage, record: DiskRecord, progress: ByteProgress | None
) -> tuple[bool, str]:
    """Whether every container file matches, and what differs first."""
    if len(image.opened_files) != len(record.files):
        return False, (
            f"{len(image.opened_files)} files make the disk, {len(record.files)} were signed"
        )
    for index, (path, signed) in enumerate(zip(image.opened_files, record.files, strict=True)):
        with FileSource(path) as source:
            done = reporting(progress, f"verifying {path.name}", source.size)
            digest = hash_source(
                source, chunk_size=FILE_CHUNK_SIZE, workers=FILE_WORKERS, progress=done
            )
        if digest.size != signed.size or digest.root.hex() != signed.merkle_root:
            role = "image file" if index == 0 else "backing file"
            return False, f"{role} {path.name} differs from the signed {signed.name}"
    return True, ""


def _check_disk(
    record: DiskRecord,
    path: Path,
    options: VerifyOptions,
    notes: list[str],
    progress: ByteProgress | None,
) -> Change | None:
    image = open_disk(
        path,
        forced_format=options.forced_format,
        allowed_dirs=options.allowed_dirs,
        follow_references=options.follow_references,
    )
    same_files, first_difference = _files_match(image, record, progress)
    if same_files:
        return None
    disk = image.disks[0].disk
    done = reporting(progress, f"hashing the guest content of {path.name}", disk.size)
    current = hash_source(disk, chunk_size=record.chunk_size, progress=done)
    if current.size == record.virtual_size and current.root.hex() == record.content_root:
        if options.exact:
            reason = f"{first_difference} (guest content identical; --exact requires the files)"
            return Change(ChangeKind.DISK, record.name, str(path), reason)
        notes.append(f"{path.name}: {first_difference}; guest content identical to the signed disk")
        return None
    from vmguard.integrity.diff import changed_ranges, locate  # only a changed disk needs it

    ranges = changed_ranges(
        record.leaves(), current.leaves, record.chunk_size, record.virtual_size, current.size
    )
    parts = [first_difference]
    if current.size != record.virtual_size:
        verb = "truncated" if current.size < record.virtual_size else "extended"
        parts.append(f"virtual size {verb} from {record.virtual_size} to {current.size} bytes")
    changed = sum(r.end - r.start for r in ranges)
    parts.append(f"{changed} bytes changed in {len(ranges)} ranges")
    regions, files, more = locate(disk, path.name, ranges)
    return Change(
        ChangeKind.DISK, record.name, str(path), "; ".join(parts), ranges, regions, files, more
    )


_FILES_IN_MESSAGE = 16


def _summary(change: Change) -> str:
    text = f"{change.path or change.name}: {change.reason}"
    if change.guest_files:
        names = ", ".join(hit.path for hit in change.guest_files[:_FILES_IN_MESSAGE])
        more = len(change.guest_files) - _FILES_IN_MESSAGE + change.more_files
        text += f"; guest files {names}" + (f" and {more} more" if more > 0 else "")
    return text


def verify_parts(
    disks: Sequence[Path],
    definitions: Sequence[DefinitionInput],
    envelope_data: bytes,
    trust: TrustStore,
    options: VerifyOptions,
    *,
    progress: ByteProgress | None = None,
) -> VerifiedBundle:
    """Verify disks and already-read definitions against a signed envelope."""
    envelope = parse_envelope(envelope_data)
    signer = verify_envelope(envelope, trust, at=options.at or datetime.now(UTC))
    manifest = parse_statement(envelope.payload).manifest
    _check_age(manifest, options)
    changes: list[Change] = []
    notes: list[str] = []
    for kind, signed, given in (
        ("disk", [d.name for d in manifest.disks], [p.name for p in disks]),
        ("definition", [d.file.name for d in manifest.definitions], [d.name for d in definitions]),
    ):
        for name in signed[len(given) :]:
            reason = f"signed {kind} {name} is missing from the bundle"
            changes.append(Change(ChangeKind.BUNDLE, name, "", reason))
        for name in given[len(signed) :]:
            reason = f"{kind} {name} is not covered by the signature"
            changes.append(Change(ChangeKind.BUNDLE, name, name, reason))
    for record, given_def in zip(manifest.definitions, definitions, strict=False):
        change = _check_definition(record, given_def)
        if change is not None:
            changes.append(change)
    for disk_record, path in zip(manifest.disks, disks, strict=False):
        change = _check_disk(disk_record, path, options, notes, progress)
        if change is not None:
            changes.append(change)
    if changes:
        summary = "; ".join(_summary(c) for c in changes[:3])
        raise BundleModified(f"bundle does not match its signature: {summary}", tuple(changes))
    return VerifiedBundle(signer, manifest, tuple(notes))


def verify_bundle(
    paths: Sequence[Path],
    envelope_data: bytes,
    trust: TrustStore,
    options: VerifyOptions,
    *,
    progress: ByteProgress | None = None,
) -> VerifiedBundle:
    """Verify bundle files (disk images and definition files) against a signed envelope."""
    bundle = classify(paths)
    definitions = [
        DefinitionInput(p.name, kind, read_definition(p, kind)) for p, kind in bundle.definitions
    ]
    return verify_parts(bundle.disks, definitions, envelope_data, trust, options, progress=progress)
