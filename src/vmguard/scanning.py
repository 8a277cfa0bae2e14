"""``vmguard scan``: one walk over the guest feeds every check; content is read once.

The main process walks the guest (metadata checks run on what the walk sees) and hands
content jobs — batches of paths — to worker processes, each of which reads every file once,
in windows, and runs the yara-x pass (secrets, malware, user rules) and the path-chosen
credential checks over the same bytes. Workers are forked from the process that opened the
image, so they share its read-only handles; reads are positional.
"""

from __future__ import annotations

import multiprocessing
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vmguard.checks.content import ContentRules, ContentScanner, compile_rules
from vmguard.checks.interface import FileContent
from vmguard.checks.memartefacts import MemoryArtefacts
from vmguard.checks.permissions import MetadataChecks
from vmguard.checks.registry import guest_checks, path_checks
from vmguard.disk.fskind import FsKind
from vmguard.disk.guestfs import GuestFS, Mount
from vmguard.disk.shadowcopies import open_shadow_stores
from vmguard.errors import VmguardError
from vmguard.findings import Finding, Report, Target, TargetKind
from vmguard.guest.apps import AppPackageFinder
from vmguard.inspection import (
    ImageOptions,
    OpenedGuest,
    inventory_of,
    open_guest,
    with_app_packages,
)
from vmguard.problems import Problem, Stage, check_name, failure_reason, run_guarded

MiB = 1024 * 1024
_OVERLAP = 64 * 1024
_PATH_CHECK_BYTES = 4 * MiB
_BATCH_BYTES = 16 * MiB
_BATCH_FILES = 256
_IN_PROCESS_BELOW = 48 * MiB

Progress = Callable[[int, int], None]
"""(bytes done, bytes total) -> None."""


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """How to scan."""

    image: ImageOptions = field(default_factory=ImageOptions)
    yara_dirs: tuple[Path, ...] = ()
    deleted: bool = False
    """Also scan unallocated space for key material and credentials."""
    max_file_bytes: int = 256 * MiB
    """Bytes scanned per file; the rest of a larger file is listed in ``errors``."""
    window: int = 16 * MiB
    """Files are scanned in windows of this size (overlapping, so nothing straddles unseen)."""
    workers: int = 0
    """Worker processes for content; 0 means one per CPU."""
    applications: bool = True
    """List application packages (pypi, npm, maven...) found by the walk in the inventory."""


@dataclass(frozen=True, slots=True)
class _Job:
    path: str
    size: int
    mount: Mount = field(repr=False, compare=False)
    node: Any = field(repr=False, compare=False)


class _ContentWorker:
    """Reads files and runs content checks; one per process."""

    def __init__(self, fs: GuestFS, rules: ContentRules, options: ScanOptions) -> None:
        self.fs = fs
        self.scanner = ContentScanner(rules)
        self.path_checks = path_checks()
        self.options = options

    def run(self, jobs: Sequence[_Job]) -> tuple[list[Finding], list[Problem], int]:
        findings: list[Finding] = []
        errors: list[Problem] = []
        done = 0
        for job in jobs:
            try:
                findings.extend(self._scan_file(job, errors))
            except VmguardError as err:
                errors.append(Problem(Stage.CONTENT, job.path, err.diagnostics()))
            except Exception as err:  # a bug met on one file must not lose the others
                reason = failure_reason("content scan", err)
                errors.append(Problem(Stage.CONTENT, job.path, reason))
            done += job.size
        return findings, errors, done

    def _scan_file(self, job: _Job, errors: list[Problem]) -> list[Finding]:
        mount, node = job.mount, job.node
        limit = min(job.size, self.options.max_file_bytes)
        if job.size > limit:
            errors.append(
                Problem(
                    Stage.CONTENT,
                    job.path,
                    f"only the first {limit} of {job.size} bytes were scanned (--max-file-size)",
                )
            )
        wanted = [c for c in self.path_checks if c.wants(job.path)]
        findings: list[Finding] = []
        window = self.options.window
        offset = 0
        compiled = False
        while offset < limit:
            length = min(window + _OVERLAP, limit - offset)
            data = self.fs.read_node(mount, node, offset, length)
            if offset == 0:
                compiled = data[:4] == b"\x7fELF"
            content = FileContent(job.path, data, offset, compiled=compiled)
            findings.extend(self.scanner.scan(content))
            if offset == 0 and wanted:
                head = FileContent(job.path, data[:_PATH_CHECK_BYTES], 0)
                for check in wanted:
                    findings.extend(
                        run_guarded(
                            check.check,
                            head,
                            name=check_name(check),
                            where=job.path,
                            problems=errors,
                        )
                    )
            offset += window
        return _dedupe(findings)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per secret per file: the most severe, vendor-specific rule wins."""
    best: dict[tuple[str, str], Finding] = {}
    for f in findings:
        key = (f.location.path, f.fingerprint or f"{f.rule_id}\0{f.evidence}")
        current = best.get(key)
        if current is None or _preference(f) > _preference(current):
            best[key] = f
    return list(best.values())


def _preference(f: Finding) -> tuple[int, int]:
    return (f.severity.rank, 0 if f.rule is not None and f.rule.generic else 1)


# Set in the parent just before the pool forks, so workers inherit the worker object and the
# job list (libyal file entries cannot be pickled); tasks are then only index ranges.
_FORKED: tuple[_ContentWorker, list[_Job]] | None = None


def _run_range(bounds: tuple[int, int]) -> tuple[list[Finding], list[Problem], int]:
    assert _FORKED is not None
    worker, jobs = _FORKED
    return worker.run(jobs[bounds[0] : bounds[1]])


def _batches(jobs: list[_Job]) -> Iterator[tuple[int, int]]:
    """Index ranges of about ``_BATCH_BYTES`` (or ``_BATCH_FILES`` files) each."""
    start, size = 0, 0
    for i, job in enumerate(jobs):
        size += job.size
        if size >= _BATCH_BYTES or i + 1 - start >= _BATCH_FILES:
            yield start, i + 1
            start, size = i + 1, 0
    if start < len(jobs):
        yield start, len(jobs)


def _largest_first(jobs: list[_Job]) -> list[tuple[int, int]]:
    """The batches, largest first: a batch holding one big file, dealt out last, would leave
    the other workers idle while it is scanned (the planted guest: 0.16 s of a 0.5 s pass)."""
    return sorted(_batches(jobs), key=lambda b: -sum(j.size for j in jobs[b[0] : b[1]]))


def _walk(
    fs: GuestFS, errors: list[Problem], apps: AppPackageFinder | None = None
) -> tuple[list[_Job], list[Finding]]:
    metadata = MetadataChecks()
    memory = MemoryArtefacts()
    checks = [(c, check_name(c)) for c in (metadata, memory)]
    findings: list[Finding] = []
    jobs: list[_Job] = []
    for entry in fs.walk(
        "/", on_error=lambda p, m: errors.append(Problem(Stage.FILESYSTEMS, p, m))
    ):
        for check, name in checks:
            findings.extend(
                run_guarded(
                    check.check,
                    entry.path,
                    entry.stat,
                    name=name,
                    where=entry.path,
                    problems=errors,
                )
            )
        if apps is not None:
            apps.consider(entry)
        if stat.S_ISREG(entry.stat.mode) and entry.stat.size > 0:
            jobs.append(_Job(entry.path, entry.stat.size, entry.mount, entry.node))
    if metadata.world_writable > 50:
        errors.append(
            Problem(
                Stage.CHECK,
                "/",
                f"{metadata.world_writable} world-writable system files; the first 50 are listed",
            )
        )
    return jobs, findings


def _shadow_copy_jobs(guest: OpenedGuest, errors: list[Problem]) -> list[_Job]:
    """Files of NTFS shadow copy stores that differ from the live file at the same path
    (by size or mtime), as jobs located ``vssN:/path``; an unchanged file is scanned once,
    live."""
    live = guest.layout.guestfs
    jobs: list[_Job] = []
    for placed in guest.layout.volumes:
        if placed.filesystem is None or placed.signature.kind != FsKind.NTFS:
            continue
        try:
            stores = open_shadow_stores(placed.volume.source, placed.signature)
        except VmguardError as err:
            errors.append(
                Problem(Stage.FILESYSTEMS, f"{placed.where} shadow copies", err.diagnostics())
            )
            continue
        prefix = (placed.mountpoint or "/").rstrip("/")
        for store in stores:
            store_fs = GuestFS([Mount("/", store.filesystem, f"{placed.where} vss{store.index}")])
            where = f"vss{store.index}:"

            def on_error(path: str, message: str, where: str = where) -> None:
                errors.append(Problem(Stage.FILESYSTEMS, where + path, message))

            for entry in store_fs.walk("/", on_error=on_error):
                if not stat.S_ISREG(entry.stat.mode) or entry.stat.size == 0:
                    continue
                current = live.stat(prefix + entry.path, follow=False) if live else None
                if current is not None and (current.size, current.mtime) == (
                    entry.stat.size,
                    entry.stat.mtime,
                ):
                    continue
                path = f"{where}{prefix}{entry.path}"
                jobs.append(_Job(path, entry.stat.size, entry.mount, entry.node))
    return jobs


def scan_content(
    fs: GuestFS, jobs: list[_Job], options: ScanOptions, progress: Progress | None
) -> tuple[list[Finding], list[Problem]]:
    """Run the content pass over ``jobs``, in worker processes when it pays off."""
    rules = compile_rules(options.yara_dirs)
    worker = _ContentWorker(fs, rules, options)
    total = sum(min(j.size, options.max_file_bytes) for j in jobs)
    workers = options.workers or os.cpu_count() or 1
    findings: list[Finding] = []
    errors: list[Problem] = []
    done = 0
    if workers == 1 or total < _IN_PROCESS_BELOW:
        results: Iterator[tuple[list[Finding], list[Problem], int]] = (
            worker.run(jobs[lo:hi]) for lo, hi in _batches(jobs)
        )
        for f, e, n in results:
            findings.extend(f)
            errors.extend(e)
            done += n
            if progress:
                progress(done, total)
        return findings, errors
    global _FORKED  # noqa: PLW0603 - handed to forked workers, cleared right after
    _FORKED = (worker, jobs)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for f, e, n in pool.imap_unordered(_run_range, _largest_first(jobs)):
                findings.extend(f)
                errors.extend(e)
                done += n
                if progress:
                    progress(done, total)
    finally:
        _FORKED = None
    return findings, errors


def scan_guest(
    guest: OpenedGuest,
    options: ScanOptions,
    progress: Progress | None = None,
    apps: AppPackageFinder | None = None,
) -> tuple[list[Finding], list[Problem]]:
    """Every check over an opened guest; ``apps`` (if given) sees every path of the walk."""
    errors = guest.problems()
    fs = guest.layout.guestfs
    if fs is None:
        errors.append(
            Problem(Stage.FILESYSTEMS, str(guest.image.path), "no readable filesystem to scan")
        )
        return [], errors
    findings: list[Finding] = []
    if guest.facts is not None:
        for check in guest_checks():
            findings.extend(
                run_guarded(
                    check.check,
                    fs,
                    guest.facts,
                    name=check_name(check),
                    where=str(guest.image.path),
                    problems=errors,
                )
            )
    jobs, metadata_findings = _walk(fs, errors, apps)
    jobs.extend(_shadow_copy_jobs(guest, errors))
    findings.extend(metadata_findings)
    content_findings, content_errors = scan_content(fs, jobs, options, progress)
    findings.extend(content_findings)
    errors.extend(content_errors)
    if options.deleted:
        from vmguard.checks.deleted import scan_unallocated

        deleted_findings, deleted_errors = scan_unallocated(guest, compile_rules(), progress)
        findings.extend(deleted_findings)
        errors.extend(deleted_errors)
    return findings, errors


def _order(f: Finding) -> tuple[Any, ...]:
    return (-f.severity.rank, f.threat.value, f.location.path, f.location.line or 0, f.rule_id)


def scan_image(path: Path, options: ScanOptions, progress: Progress | None = None) -> Report:
    """Open and scan one image: inventory, findings, and what could not be read."""
    guest = open_guest(path, options.image)
    apps = AppPackageFinder() if options.applications else None
    findings, errors = scan_guest(guest, options, progress, apps)
    inventory = inventory_of(guest)
    if apps is not None and guest.layout.guestfs is not None:
        found = apps.read(guest.layout.guestfs)
        inventory = with_app_packages(inventory, found.value)
        errors.extend(found.problems)
    return Report(
        target=Target(TargetKind.IMAGE, str(path)),
        inventory=inventory,
        findings=tuple(sorted(findings, key=_order)),
        errors=tuple(errors),
    )
