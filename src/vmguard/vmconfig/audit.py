"""Audit VM definition files (or a live libvirt connection) into Reports.

One Report per configuration file, target kind ``vm-config``. A file that cannot be parsed
becomes a Report with one error when other files are being audited, or raises when it is
the only input. Nothing here opens a path a definition names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vmguard.findings import Report, Target, TargetKind
from vmguard.problems import Problem, Stage
from vmguard.profiles.evaluate import vm_compliance
from vmguard.profiles.model import Profile
from vmguard.vmconfig.engine import audit_document
from vmguard.vmconfig.loader import load_config
from vmguard.vmconfig.model import ConfigDocument, ConfigParseError, Platform
from vmguard.vmconfig.rules.catalogue import builtin_rules
from vmguard.vmconfig.rules.libvirt_platform import writable_disks
from vmguard.vmconfig.rules.model import AuditContext, ConfigRule

TARGET_KIND = TargetKind.VM_CONFIG


@dataclass(frozen=True, slots=True)
class AuditOptions:
    """How to judge the definitions."""

    platform: Platform | None = None
    """--platform: the product that runs them, when the files do not say."""
    platform_version: int | None = None
    """--platform-version: the product's major release (8 for ESXi 8)."""
    profile: Profile | None = None
    """--profile: judge every item of this guide too (a definition that does not name its
    product is judged as the guide's product and release, e.g. ESXi 8)."""


def _context(documents: Sequence[ConfigDocument], options: AuditOptions) -> AuditContext:
    writers: dict[str, list[str]] = {}
    for document in documents:
        for spec in document.vms:
            for source in writable_disks(spec):
                writers.setdefault(source, []).append(spec.name)
    profile = options.profile
    return AuditContext(
        options.platform,
        {k: tuple(v) for k, v in writers.items()},
        options.platform_version or (profile.release if profile is not None else None),
        profile.platform if profile is not None else None,
    )


def _report(
    document: ConfigDocument,
    rules: tuple[ConfigRule, ...],
    ctx: AuditContext,
    options: AuditOptions,
) -> Report:
    findings, errors = audit_document(document, rules, ctx)
    notes = [Problem(Stage.CONFIG, document.path, note) for note in document.notes]
    if options.platform is not None:
        for spec in document.vms:
            if spec.platform is not None and spec.platform.is_vmware != options.platform.is_vmware:
                notes.append(
                    Problem(
                        Stage.CONFIG,
                        document.path,
                        f"--platform {options.platform.value} ignored for {spec.name!r} "
                        f"({spec.platform.value} definition)",
                    )
                )
    compliance = None
    if options.profile is not None:
        compliance = vm_compliance(options.profile, document.vms, findings)
    return Report(
        target=Target(TARGET_KIND, document.path),
        findings=tuple(findings),
        errors=tuple(notes + errors),
        compliance=compliance,
    )


def audit_documents(documents: Sequence[ConfigDocument], options: AuditOptions) -> list[Report]:
    """Audit already-parsed documents together (disks shared across them are compared)."""
    rules = builtin_rules()
    ctx = _context(documents, options)
    return [_report(document, rules, ctx, options) for document in documents]


def audit_paths(paths: Sequence[Path], options: AuditOptions) -> list[Report]:
    """Parse and audit every file; with several files an unreadable one is a Report error.

    Raises ConfigParseError when the only file given cannot be read.
    """
    documents: list[ConfigDocument] = []
    failed: dict[int, Problem] = {}
    for index, path in enumerate(paths):
        try:
            documents.append(load_config(path))
        except ConfigParseError as err:
            if len(paths) == 1:
                raise
            failed[index] = Problem(Stage.CONFIG, str(path), err.diagnostics())
    audited = iter(audit_documents(documents, options))
    reports: list[Report] = []
    for index, path in enumerate(paths):
        if index in failed:
            reports.append(Report(Target(TARGET_KIND, str(path)), errors=(failed[index],)))
        else:
            reports.append(next(audited))
    return reports
