"""One image, one task: what an engine runs on a worker, and what comes back.

``scan_task`` opens the image, records the state of every host file it pulled in, computes
the content digest, and either stops there (content unchanged since the stored scan, same
rules) or runs every check with one worker process, since the engine parallelises across
images. It never raises: a refused, corrupt or hostile image comes back as an ``error``
result and the run goes on. It must never send a password hash or a secret back: password
hashes become SHA-256 markers here, findings travel without their fingerprints, and the
inventory without hashes.
The keys in ``ScanOptions.image.secrets`` reach a task only inside the pickled task (memory
and the engine's own pipe or connection, never a command line); nothing a task returns
holds them.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from vmguard.checks.accounts import scheme_of
from vmguard.disk.errors import ImageRefused
from vmguard.errors import VmguardError
from vmguard.findings import Finding, SecretKind
from vmguard.fleet.identity import FileState, content_digest, file_state
from vmguard.guest.facts import UserAccount
from vmguard.inspection import inventory_of, open_guest
from vmguard.inventory import Inventory
from vmguard.problems import Problem
from vmguard.scanning import ScanOptions, scan_guest

Outcome = Literal["scanned", "unchanged", "error"]

LOCKED_SUFFIX = ";volumes-locked"
"""Ends the stored content digest of an image whose encrypted volumes were not all opened:
the same bytes scanned with a key that opens them give other results, so such a result is
reused only when the task, run with the keys of the day, still finds a volume locked."""


@dataclass(frozen=True, slots=True)
class ImageTask:
    """What to do for one image."""

    path: str
    options: ScanOptions
    known_digest: str | None = None
    """The stored content digest when the stored scan used the current rules: equal content
    then means "unchanged" without a scan."""


@dataclass(frozen=True, slots=True)
class SecretMarker:
    """A secret an image carries, reduced to a digest for cross-image correlation."""

    kind: SecretKind
    digest: str
    """SHA-256 of the secret (or of the public key fingerprint): never rendered; the
    database stores only a keyed HMAC of it."""
    path: str
    evidence: str
    """Redacted, as in the finding (or ``account NAME (scheme)`` for password hashes)."""


@dataclass(frozen=True, slots=True)
class ImageResult:
    """What one task found out about one image."""

    path: str
    outcome: Outcome
    started: datetime
    duration: float
    files: tuple[FileState, ...] = ()
    """The image file and every backing or data file it opened."""
    content_digest: str | None = None
    format: str | None = None
    virtual_size: int | None = None
    inventory: Inventory | None = None
    findings: tuple[Finding, ...] = ()
    markers: tuple[SecretMarker, ...] = ()
    errors: tuple[Problem, ...] = ()
    error: str | None = None
    """Why the image could not be scanned (outcome ``error``)."""
    refused: bool = False
    """The image was refused by the path policy: it names a file (backing, data file,
    extent, parent) that ``--isolated`` or the allowed directories do not let be opened."""


def _sha(kind: SecretKind, material: bytes) -> str:
    return hashlib.sha256(kind.value.encode() + b"\0" + material).hexdigest()


def finding_markers(findings: tuple[Finding, ...] | list[Finding]) -> list[SecretMarker]:
    """Markers for the findings whose rule says they identify a secret or key another image
    could share (``Rule.shares``): keyed on the public key's fingerprint when the finding
    names one, else on the secret's."""
    markers: list[SecretMarker] = []
    for f in findings:
        kind = f.rule.shares if f.rule is not None else None
        material = f.public_key or f.fingerprint
        if kind is None or material is None:
            continue
        markers.append(
            SecretMarker(kind, _sha(kind, material.encode()), f.location.path, f.evidence)
        )
    return markers


def password_markers(users: tuple[UserAccount, ...]) -> list[SecretMarker]:
    """A marker per account with a usable password hash (the hash itself never leaves)."""
    return [
        SecretMarker(
            SecretKind.PASSWORD_HASH,
            _sha(SecretKind.PASSWORD_HASH, u.password_hash.encode()),
            "/etc/shadow",
            f"account {u.name} ({scheme_of(u.password_hash)} hash) [redacted]",
        )
        for u in users
        if u.password == "hash" and u.password_hash  # noqa: S105 - a state, not a password
    ]


def _without_hashes(inventory: Inventory) -> Inventory:
    return replace(inventory, users=tuple(replace(u, password_hash=None) for u in inventory.users))


def _order(f: Finding) -> tuple[object, ...]:
    return (
        -f.severity.rank,
        f.threat.value,
        f.location.path,
        f.location.line or 0,
        f.rule_id,
        f.evidence,
    )


def scan_task(task: ImageTask) -> ImageResult:
    """Digest and (when needed) scan one image; never raises."""
    started = datetime.now(UTC)
    clock = time.perf_counter()
    refused = False
    try:
        return _scan(task, started, clock)
    except ImageRefused as err:
        message, refused = err.diagnostics(), True
    except VmguardError as err:
        message = err.diagnostics()
    except MemoryError:
        message = "ran out of memory reading this image"
    except Exception as err:  # one hostile image must not stop the fleet
        message = f"internal error ({type(err).__name__}): {' '.join(str(err).split())[:300]}"
    elapsed = time.perf_counter() - clock
    return ImageResult(task.path, "error", started, elapsed, error=message, refused=refused)


def _scan(task: ImageTask, started: datetime, clock: float) -> ImageResult:
    options = replace(task.options, workers=1)
    try:
        guest = open_guest(Path(task.path), options.image)
        files = tuple(file_state(p) for p in guest.image.opened_files)
    except OSError as err:
        return ImageResult(
            task.path,
            "error",
            started,
            time.perf_counter() - clock,
            error=f"cannot be read: {err.strerror or err}",
        )
    digest = content_digest(guest.image)
    if any(p.volume.encryption and not p.volume.unlocked for p in guest.layout.volumes):
        digest += LOCKED_SUFFIX
    fmt = guest.image.format
    size = sum(d.disk.size for d in guest.image.disks)
    if task.known_digest is not None and task.known_digest == digest:
        return ImageResult(
            task.path, "unchanged", started, time.perf_counter() - clock, files, digest, fmt, size
        )
    findings, errors = scan_guest(guest, options)
    inventory = inventory_of(guest)
    markers = finding_markers(findings) + password_markers(inventory.users)
    return ImageResult(
        task.path,
        "scanned",
        started,
        time.perf_counter() - clock,
        files,
        digest,
        fmt,
        size,
        inventory=_without_hashes(inventory),
        findings=tuple(sorted((replace(f, fingerprint=None) for f in findings), key=_order)),
        markers=tuple(sorted(set(markers), key=lambda m: (m.kind, m.path, m.digest))),
        errors=tuple(errors),
    )
