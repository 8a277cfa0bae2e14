"""scan -> plan -> write with the filesystems' tools -> zero free space -> convert -> re-scan.

The input is opened once, by vmguard, under the hostile-image policy; everything after
works on a private raw copy in a directory only this process uses. The report is the
re-scan of the written image, plus one info finding per change and per finding removed:
what remains is the proof.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from vmguard.disk.fskind import FsKind
from vmguard.disk.image import open_image
from vmguard.disk.policy import HostPathPolicy
from vmguard.findings import Area, Finding, Report, Severity, Target, TargetKind
from vmguard.inspection import ImageOptions, OpenedGuest, open_guest
from vmguard.policy import Policy, apply_policy
from vmguard.problems import Problem, Stage
from vmguard.sanitize.fswriters import Outcome, Region, SanitizeError, apply_ext, apply_fat
from vmguard.sanitize.ntfswriter import apply_ntfs
from vmguard.sanitize.operations import Context, Operation, plan_operations
from vmguard.sanitize.plan import KEPT, Edit, Plan
from vmguard.sanitize.readback import verify_outcomes
from vmguard.sanitize.rules import FINDING_REMOVED, NOT_CHANGED, ZERO_FREE_SPACE
from vmguard.sanitize.workcopy import (
    OUTPUT_FORMATS,
    convert_out,
    free_ranges,
    write_working_copy,
    zero_ranges,
)
from vmguard.sanitize.xfswriter import apply_xfs
from vmguard.scanning import ScanOptions, scan_guest, scan_image

_WRITERS = {
    FsKind.EXT2: apply_ext,
    FsKind.EXT3: apply_ext,
    FsKind.EXT4: apply_ext,
    FsKind.EXT4DEV: apply_ext,
    FsKind.VFAT: apply_fat,
    FsKind.XFS: apply_xfs,
    FsKind.NTFS: apply_ntfs,
}
_CONTIGUOUS = ("gpt", "mbr", "none")


@dataclass(frozen=True, slots=True)
class SanitizeOptions:
    """How to sanitize."""

    operations: tuple[Operation, ...]
    image: ImageOptions = field(default_factory=ImageOptions)
    isolated: bool = False
    """Refuse every file the image names (backing files, extents), even beside it."""
    keep: tuple[str, ...] = ()
    zero_free_space: bool = True
    out_format: str = "qcow2"
    """An OUTPUT_FORMATS name, or "input" for the input's own format."""
    scan: ScanOptions = field(default_factory=ScanOptions)
    policy: Policy = field(default_factory=Policy)


_TOOL_SAFE_PATH = re.compile(r"^[A-Za-z0-9/._+-]+$")


def _work_base(out: Path) -> Path | None:
    """Beside the output (same filesystem, so the copy costs no extra space elsewhere),
    unless that path holds characters the tools read as syntax ("?" for debugfs' io
    options, "@@" for mtools' offsets): then the system's temporary directory."""
    parent = out.parent.resolve()
    return parent if _TOOL_SAFE_PATH.match(str(parent)) else None


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100] or "disk"


def _output_format(options: SanitizeOptions, input_format: str) -> str:
    fmt = input_format if options.out_format == "input" else options.out_format
    if fmt not in OUTPUT_FORMATS:
        raise SanitizeError(f"cannot write {fmt} images (use {', '.join(OUTPUT_FORMATS)})")
    return fmt


def _region_of(guest: OpenedGuest, edit: Edit, raw: Path) -> Region | str:
    for placed in guest.layout.volumes:
        if placed.filesystem is edit.mount.fs:
            if placed.volume.scheme not in _CONTIGUOUS:
                return f"{placed.where}: logical volumes are not written"
            if placed.signature.kind not in _WRITERS:
                return f"no offline writer for {placed.signature.kind} in this version"
            return Region(raw, placed.volume.start, placed.volume.size, placed.signature.kind)
    return "its filesystem was not found"


def _apply(guest: OpenedGuest, plan: Plan, raw: Path, workdir: Path) -> list[Outcome]:
    by_region: dict[Region, list[Edit]] = defaultdict(list)
    outcomes: list[Outcome] = []
    for edit in plan.ordered():
        region = _region_of(guest, edit, raw)
        if isinstance(region, str):
            outcomes.append(Outcome(edit, region))
        else:
            by_region[region].append(edit)
    for region, edits in by_region.items():
        try:
            outcomes += _WRITERS[region.kind](region, edits, workdir)
        except SanitizeError as err:
            outcomes += [Outcome(e, err.diagnostics()) for e in edits]
    return outcomes


def _zero(raw: Path, errors: list[Problem]) -> list[Finding]:
    guest = open_guest(raw, ImageOptions(forced_format="raw"))
    findings = []
    for placed in guest.layout.volumes:
        if placed.filesystem is None:
            continue
        if placed.volume.scheme not in _CONTIGUOUS:
            errors.append(
                Problem(Stage.SANITIZE, placed.where, "free space of logical volumes not zeroed")
            )
            continue
        try:
            ranges = free_ranges(raw, placed)
        except SanitizeError as err:
            errors.append(
                Problem(Stage.SANITIZE, placed.where, f"free space not zeroed: {err.diagnostics()}")
            )
            continue
        start = placed.volume.start
        end = start + placed.volume.size
        absolute = [
            type(r)(start + r.offset, min(r.length, end - start - r.offset))
            for r in ranges
            if r.offset < placed.volume.size
        ]
        zeroed = zero_ranges(raw, absolute)
        where = placed.where + (f" ({placed.mountpoint})" if placed.mountpoint else "")
        findings.append(
            ZERO_FREE_SPACE.finding(where, f"{zeroed} bytes of free space zeroed", area=Area.IMAGE)
        )
    return findings


def _key(f: Finding) -> tuple[object, ...]:
    where = f.location.partition if f.location.area is Area.UNALLOCATED else f.location.path
    return (f.rule_id, f.location.area, where, f.fingerprint or f.evidence)


def _removed(before: Report, after: Report, changed: dict[str, str]) -> list[Finding]:
    remaining = {_key(f) for f in after.findings}
    removed = []
    for f in before.findings:
        if f.suppressed is not None or _key(f) in remaining:
            continue
        if f.location.area is Area.UNALLOCATED:
            how = "zero-free-space"
        else:
            how = changed.get(f.location.path, "no longer reported")
        removed.append(
            FINDING_REMOVED.finding(
                f.location.path,
                f"{f.rule_id} ({how}): {f.evidence}",
                area=f.location.area,
                line=f.location.line,
                partition=f.location.partition,
                title=f"Removed: {f.title}",
            )
        )
    return removed


def _change_findings(
    outcomes: list[Outcome], skipped: list[Problem], ops: dict[str, Operation]
) -> list[Finding]:
    findings = []
    for outcome in outcomes:
        edit = outcome.edit
        if outcome.error is None:
            detail = f" ({edit.detail})" if edit.detail else ""
            done = outcome.note or edit.kind.value
            findings.append(ops[edit.operation].rule.finding(edit.path, done + detail))
        else:
            findings.append(
                NOT_CHANGED.finding(
                    edit.path, f"{edit.operation}: {edit.kind.value} failed: {outcome.error}"
                )
            )
    for skip in skipped:
        severity = Severity.INFO if skip.reason.endswith(KEPT) else None
        findings.append(NOT_CHANGED.finding(skip.where, skip.reason, severity=severity))
    return findings


Progress = Callable[[str, int, int], None]
"""(what, bytes done, bytes in all), for a progress bar."""


def _stage(progress: Progress | None, what: str) -> Callable[[int, int], None] | None:
    return None if progress is None else lambda done, total: progress(what, done, total)


def sanitize_image(
    path: Path, out: Path, options: SanitizeOptions, progress: Progress | None = None
) -> Report:
    """Write a sanitized copy of ``path`` to ``out`` and return the proof: the re-scan of
    ``out`` with every change and every removed finding listed."""
    policy = HostPathPolicy(
        allowed_dirs=options.image.allowed_dirs, follow_references=not options.isolated
    )
    image = open_image(
        path, forced_format=options.image.forced_format, policy=policy, limits=options.image.limits
    )
    if len(image.disks) != 1:
        raise SanitizeError(f"sanitize writes one disk; this package holds {len(image.disks)}")
    fmt = _output_format(options, image.format)
    if out.is_dir():
        raise SanitizeError(f"{out} is a directory; name the image file to write")
    out.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=".vmguard-sanitize-", dir=_work_base(out)))
    try:
        # Named like the input so the report's volume names read "disk.qcow2 partition 1".
        raw = workdir / _safe_name(image.disks[0].name)
        write_working_copy(image.disks[0].disk, raw, _stage(progress, "copying the input"))
        del image
        guest = open_guest(raw, ImageOptions(forced_format="raw"))
        if guest.layout.guestfs is None:
            raise SanitizeError("no readable filesystem to sanitize")
        findings, scan_errors = scan_guest(
            guest,
            replace(options.scan, deleted=options.zero_free_space),
            _stage(progress, "scanning the input"),
        )
        before = apply_policy(
            Report(Target(TargetKind.IMAGE, str(path)), None, tuple(findings), tuple(scan_errors)),
            options.policy,
        )
        plan = Plan(guest.layout.guestfs, options.keep)
        ctx = Context(plan, guest.facts, before.findings)
        plan_operations(ctx, options.operations)
        outcomes = _apply(guest, plan, raw, workdir)
        del guest
        outcomes = verify_outcomes(raw, outcomes)
        errors: list[Problem] = []
        zeroed = _zero(raw, errors) if options.zero_free_space else []
        partial = workdir / "out.partial"
        convert_out(raw, partial, fmt)
        raw.unlink()
        os.replace(partial, out)
    except OSError as err:
        raise SanitizeError(f"cannot write the sanitized copy: {err.strerror or err}") from err
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    after = apply_policy(
        scan_image(
            out,
            replace(options.scan, image=ImageOptions(), deleted=True),
            _stage(progress, "re-scanning the output"),
        ),
        options.policy,
    )
    changed = {o.edit.path: o.edit.operation for o in outcomes if o.error is None}
    ops = {o.name: o for o in options.operations}
    added = [
        *_change_findings(outcomes, plan.skipped, ops),
        *zeroed,
        *ctx.notes,
        *_removed(before, after, changed),
    ]
    return Report(
        target=Target(TargetKind.IMAGE, str(out)),
        inventory=after.inventory,
        findings=(*after.findings, *added),
        errors=(*after.errors, *errors),
    )
