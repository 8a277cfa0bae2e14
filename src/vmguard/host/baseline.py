"""``vmguard host baseline`` / ``host verify``: sign a manifest of the hypervisor's files
with the keys of ``vmguard sign``, and later report exactly what changed.

Signing and verification are the integrity layer's DSSE functions (``sign_envelope``,
``parse_envelope``, ``verify_envelope``); the envelope's signature is checked before its
payload is parsed. Every difference is a finding naming the path and what changed (bytes
ranges, lines, mode, owner, link target). This module must never modify the host.
"""

from __future__ import annotations

import difflib
import socket
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from vmguard import __version__
from vmguard.findings import Area, Finding, Report, Rule, Severity, Target, TargetKind, Threat
from vmguard.host.baselinefile import Baseline, parse_statement, statement_bytes
from vmguard.host.root import HostRoot
from vmguard.host.snapshot import CHUNK, Entry, hypervisor_dirs, hypervisor_paths, snapshot
from vmguard.integrity.envelope import parse_envelope, sign_envelope
from vmguard.integrity.errors import SignatureInvalid
from vmguard.integrity.keys import SigningKey
from vmguard.integrity.trust import Signer, TrustStore, verify_envelope

_REMEDIATION = (
    "Find out who changed it and why; restore the file from its package or a trusted copy, "
    "or sign a new baseline after reviewing the change."
)
_REFS = ("survey V.H: external modification of the hypervisor",)
MODIFIED = Rule(
    "host.baseline-modified",
    "Hypervisor file changed since the signed baseline",
    Severity.CRITICAL,
    Threat.HYPERVISOR_MODIFICATION,
    _REMEDIATION,
    _REFS,
    rationale=(
        "A hypervisor file that changed since the signed baseline may have been tampered with; "
        "updates should come with a new baseline."
    ),
)
ADDED = Rule(
    "host.baseline-added",
    "File added to a hypervisor directory since the signed baseline",
    Severity.HIGH,
    Threat.HYPERVISOR_MODIFICATION,
    _REMEDIATION,
    _REFS,
    rationale=(
        "A new file in a hypervisor directory can be a planted module, plugin or configuration "
        "fragment that the hypervisor loads."
    ),
)
REMOVED = Rule(
    "host.baseline-removed",
    "Hypervisor file removed since the signed baseline",
    Severity.MEDIUM,
    Threat.HYPERVISOR_MODIFICATION,
    _REMEDIATION,
    _REFS,
    rationale=(
        "A file removed from a hypervisor directory may be a protection (a policy or a profile) "
        "taken away."
    ),
)
METADATA = Rule(
    "host.baseline-metadata",
    "Hypervisor file's owner or permissions changed since the signed baseline",
    Severity.MEDIUM,
    Threat.HYPERVISOR_MODIFICATION,
    _REMEDIATION,
    _REFS,
    rationale=(
        "A changed owner or mode can make a hypervisor file writable to users who should not "
        "change it."
    ),
)
RULES = (MODIFIED, ADDED, REMOVED, METADATA)
SIGNATURE_INVALID = Rule(
    "host.baseline-signature-invalid",
    "Host baseline signature not accepted",
    Severity.CRITICAL,
    Threat.HYPERVISOR_MODIFICATION,
    "Verify with the key that signed the baseline; if the baseline was altered, nothing it "
    "says can be trusted: make a new one from a known-good host.",
    rationale=(
        "A baseline whose signature is not accepted cannot show that the host is unchanged: it may "
        "itself have been altered."
    ),
)
MAX_SHOWN = 8


@dataclass(frozen=True, slots=True)
class VerifiedHost:
    """The outcome of ``verify_host``: who signed the baseline and what differs."""

    signer: Signer
    baseline: Baseline
    report: Report


def _hostname(root: HostRoot) -> str:
    if root.live:
        return socket.gethostname()
    text = root.read_text("/etc/hostname", 4096) or ""
    return text.strip()[:256]


def build_baseline(root: HostRoot, now: datetime | None = None) -> Baseline:
    """Record every hypervisor file and hypervisor directory entry under ``root``."""
    return Baseline(
        created=now or datetime.now(UTC).replace(microsecond=0),
        root=str(root.root),
        hostname=_hostname(root),
        directories=hypervisor_dirs(root),
        entries=snapshot(root, hypervisor_paths(root)),
        tool=f"vmguard {__version__}",
    )


def sign_baseline(baseline: Baseline, key: SigningKey) -> bytes:
    """The DSSE envelope (JSON bytes) over the baseline's in-toto statement."""
    return sign_envelope(statement_bytes(baseline), key)


def _ranges(old: tuple[str, ...], new: tuple[str, ...], old_size: int, new_size: int) -> str:
    spans: list[tuple[int, int]] = []
    for index in range(max(len(old), len(new))):
        if index < len(old) and index < len(new) and old[index] == new[index]:
            continue
        start = index * CHUNK
        end = min((index + 1) * CHUNK, max(old_size, new_size))
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    shown = ", ".join(f"0x{a:x}-0x{b:x}" for a, b in spans[:MAX_SHOWN])
    more = f" and {len(spans) - MAX_SHOWN} more" if len(spans) > MAX_SHOWN else ""
    return f"bytes {shown}{more} changed" if spans else ""


def _span(first: int, last: int) -> str:
    return f"line {first}" if first == last else f"lines {first}-{last}"


def _lines(old: tuple[str, ...], new: tuple[str, ...]) -> str:
    parts = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace":
            parts.append(f"{_span(i1 + 1, i2)} changed (now {_span(j1 + 1, j2)})")
        elif tag == "delete":
            parts.append(f"{_span(i1 + 1, i2)} removed")
        elif tag == "insert":
            parts.append(f"{_span(j1 + 1, j2)} added (after line {i1})")
    more = f" and {len(parts) - MAX_SHOWN} more changes" if len(parts) > MAX_SHOWN else ""
    return "; ".join(parts[:MAX_SHOWN]) + more


def _content_change(old: Entry, new: Entry) -> str:
    if old.kind != new.kind:
        return f"was a {old.kind}, now a {new.kind}"
    if old.kind == "link" and old.target != new.target:
        return f"link target {old.target!r} -> {new.target!r}"
    if old.kind != "file" or old.sha256 == new.sha256:
        return ""
    where = _lines(old.lines, new.lines) if old.lines and new.lines else ""
    where = where or _ranges(old.chunks, new.chunks, old.size, new.size)
    sizes = f"size {old.size} -> {new.size}; " if old.size != new.size else ""
    return f"sha256 {old.sha256[:16]}... -> {new.sha256[:16]}...; {sizes}{where}".rstrip("; ")


def _describe(entry: Entry) -> str:
    text = f"{entry.kind}, mode {entry.mode:04o}, owner {entry.uid}:{entry.gid}"
    if entry.kind == "file":
        text += f", {entry.size} bytes, sha256 {entry.sha256[:16]}..."
    if entry.kind == "link":
        text += f" -> {entry.target}"
    return text


def _findings(old_entries: tuple[Entry, ...], new_entries: tuple[Entry, ...]) -> Iterator[Finding]:
    old = {e.path: e for e in old_entries}
    new = {e.path: e for e in new_entries}
    for path in sorted(old.keys() | new.keys()):
        before, after = old.get(path), new.get(path)
        if before is None and after is not None:
            yield ADDED.finding(path, f"new {_describe(after)}", area=Area.HOST)
        elif after is None and before is not None:
            yield REMOVED.finding(path, f"was {_describe(before)}", area=Area.HOST)
        elif before is not None and after is not None:
            package = f" (package {before.package})" if before.package else ""
            if change := _content_change(before, after):
                severity = Severity.HIGH if path.startswith("/etc/") else None
                yield MODIFIED.finding(path, change + package, area=Area.HOST, severity=severity)
            meta = []
            if before.mode != after.mode:
                meta.append(f"mode {before.mode:04o} -> {after.mode:04o}")
                if after.mode & (stat.S_IWGRP | stat.S_IWOTH | stat.S_ISUID) & ~before.mode:
                    meta.append("now writable by others or setuid")
            if (before.uid, before.gid) != (after.uid, after.gid):
                meta.append(f"owner {before.uid}:{before.gid} -> {after.uid}:{after.gid}")
            if meta:
                yield METADATA.finding(path, "; ".join(meta) + package, area=Area.HOST)


def compare_with_host(baseline: Baseline, root: HostRoot) -> Report:
    """What differs between a baseline and the host now: one finding per changed path."""
    paths = hypervisor_paths(root, extra=(e.path for e in baseline.entries))
    current = snapshot(root, paths)
    findings = tuple(_findings(baseline.entries, current))
    return Report(target=Target(TargetKind.HOST, str(root.root)), findings=findings)


def verify_host(
    root: HostRoot, envelope_data: bytes, trust: TrustStore, at: datetime | None = None
) -> VerifiedHost:
    """Check the envelope's signature (``SignatureInvalid`` if no trusted key made it),
    then compare the signed baseline with the host."""
    envelope = parse_envelope(envelope_data)
    signer = verify_envelope(envelope, trust, at=at or datetime.now(UTC))
    baseline = parse_statement(envelope.payload)
    return VerifiedHost(signer, baseline, compare_with_host(baseline, root))


def signature_invalid_report(root: str, error: SignatureInvalid) -> Report:
    """What ``host verify`` reports for a baseline no trusted key signed: nothing of the
    host was compared, so the report holds that one finding."""
    finding = SIGNATURE_INVALID.finding(root, error.diagnostics(), area=Area.HOST)
    return Report(target=Target(TargetKind.HOST, root), findings=(finding,))
