"""Deleted remnants: key material and credentials in the unallocated space of filesystems.

Free space comes from each filesystem's allocation map (``disk.freespace``), intersected
with the container's allocated ranges so holes are never read; what remains is scanned in
windows with the secret patterns. Findings carry ``area: unallocated``, the partition and
the byte offset inside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from vmguard.checks.content import ContentRules, ContentScanner
from vmguard.checks.interface import FileContent
from vmguard.disk.btrfs.freespace import btrfs_free
from vmguard.disk.errors import DiskError
from vmguard.disk.freespace import ext_free, fat_free, ntfs_free, xfs_free
from vmguard.disk.fskind import EXT_KINDS, FsKind
from vmguard.disk.layout import PlacedVolume
from vmguard.disk.source import DataRange, SparseSource
from vmguard.findings import Area, Finding, Location, Threat
from vmguard.inspection import OpenedGuest
from vmguard.problems import Problem, Stage

_WINDOW = 8 * 1024 * 1024
_OVERLAP = 64 * 1024


def free_ranges(placed: PlacedVolume) -> Iterator[DataRange]:
    """Unallocated ranges of a volume's filesystem (byte offsets inside the volume)."""
    kind = placed.signature.kind
    source = placed.volume.source
    if kind in EXT_KINDS:
        return ext_free(source)
    if kind == FsKind.XFS:
        return xfs_free(source)
    if kind == FsKind.VFAT:
        return fat_free(source)
    if kind == FsKind.NTFS and placed.filesystem is not None:
        return ntfs_free(placed.filesystem.volume, source.size)
    if kind == FsKind.BTRFS and placed.filesystem is not None:
        return btrfs_free(placed.filesystem.volume)
    raise DiskError(f"no allocation map reader for {kind}")


def _intersect(free: Iterator[DataRange], data: list[DataRange]) -> Iterator[DataRange]:
    i = 0
    for r in free:
        lo, hi = r.offset, r.offset + r.length
        while i < len(data) and data[i].offset + data[i].length <= lo:
            i += 1
        j = i
        while j < len(data) and data[j].offset < hi:
            a, b = max(lo, data[j].offset), min(hi, data[j].offset + data[j].length)
            if a < b:
                yield DataRange(a, b - a)
            j += 1


def scan_unallocated(
    guest: OpenedGuest,
    rules: ContentRules,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Finding], list[Problem]]:
    """Secrets in the free space of every readable filesystem of the guest."""
    scanner = ContentScanner(rules)
    findings: list[Finding] = []
    errors: list[Problem] = []
    for placed in guest.layout.volumes:
        if placed.filesystem is None:
            continue
        source = placed.volume.source
        try:
            free = free_ranges(placed)
            allocated = (
                list(source.data_ranges())
                if isinstance(source, SparseSource)
                else [DataRange(0, source.size)]
            )
            ranges = list(_intersect(free, allocated))
        except DiskError as err:
            errors.append(
                Problem(
                    Stage.CONTENT,
                    placed.where,
                    f"unallocated space not scanned: {err.diagnostics()}",
                )
            )
            continue
        for r in ranges:
            offset, end = r.offset, r.offset + r.length
            while offset < end:
                length = min(_WINDOW + _OVERLAP, end - offset)
                data = source.read_at(offset, length)
                if data.strip(b"\0"):
                    content = FileContent(placed.where, data, offset)
                    for f in scanner.scan(content):
                        if f.threat is not Threat.IMAGE_EXPOSURE:
                            continue
                        findings.append(_relocate(f, placed))
                offset += _WINDOW
    return _unique(findings), errors


def _relocate(f: Finding, placed: PlacedVolume) -> Finding:
    where = f"{placed.where}" + (f" ({placed.mountpoint})" if placed.mountpoint else "")
    return Finding(
        rule_id=f.rule_id,
        title=f"Deleted but recoverable: {f.title[0].lower()}{f.title[1:]}",
        severity=f.severity,
        threat=f.threat,
        location=Location(where, Area.UNALLOCATED, None, f.location.offset, placed.volume.index),
        evidence=f.evidence,
        remediation=(
            "Deleting a file leaves its blocks on disk: zero free space before publishing "
            "(virt-sparsify --in-place, fstrim with discard passed through, or zerofree), "
            "and rotate the secret."
        ),
        references=f.references,
        fingerprint=f.fingerprint,
        public_key=f.public_key,
        rule=f.rule,
    )


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: dict[tuple[str, int | None, str | None], Finding] = {}
    for f in findings:
        seen.setdefault((f.location.path, f.location.offset, f.fingerprint or f.evidence), f)
    return list(seen.values())
