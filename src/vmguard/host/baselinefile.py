"""The signed host baseline's JSON form: an in-toto Statement v1 whose predicate lists the
hypervisor's files, and its strict parser.

The statement has one subject, ``host-baseline``, whose SHA-256 covers the canonical JSON
of the entries; the parser checks it, every field's type and bound, and refuses unknown
kinds. It parses only payloads whose DSSE signature already verified, and must never open
a path named inside one.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vmguard.host.errors import BaselineError
from vmguard.host.snapshot import Entry

PREDICATE_TYPE = "https://vmguard.dev/attestation/host-baseline/v1"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
SUBJECT = "host-baseline"
MAX_ENTRIES = 200_000
MAX_DIGESTS = 1_000_000
_HEX = re.compile(r"[0-9a-f]*")
_KINDS = ("file", "link", "dir", "other")


@dataclass(frozen=True, slots=True)
class Baseline:
    """What the hypervisor looked like when the baseline was signed."""

    created: datetime
    root: str
    """The root that was recorded (``/`` for a live host)."""
    hostname: str
    directories: tuple[str, ...]
    """Hypervisor directories walked: a later entry under them not recorded is "added"."""
    entries: tuple[Entry, ...]
    tool: str


def _entry_json(entry: Entry) -> dict[str, Any]:
    data: dict[str, Any] = {
        "path": entry.path,
        "kind": entry.kind,
        "mode": entry.mode,
        "uid": entry.uid,
        "gid": entry.gid,
    }
    optional = {
        "size": entry.size,
        "sha256": entry.sha256,
        "target": entry.target,
        "chunks": list(entry.chunks),
        "lines": list(entry.lines),
        "package": entry.package,
    }
    data.update({k: v for k, v in optional.items() if v})
    return data


def _canonical(entries: list[dict[str, Any]]) -> bytes:
    return json.dumps(entries, separators=(",", ":"), sort_keys=True).encode("utf-8")


def statement_bytes(baseline: Baseline) -> bytes:
    """The in-toto statement of a baseline, compact JSON."""
    entries = [_entry_json(e) for e in baseline.entries]
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": SUBJECT, "digest": {"sha256": hashlib.sha256(_canonical(entries)).hexdigest()}}
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "created": baseline.created.isoformat(),
            "root": baseline.root,
            "hostname": baseline.hostname,
            "directories": list(baseline.directories),
            "tool": baseline.tool,
            "entries": entries,
        },
    }
    return json.dumps(statement, separators=(",", ":"), sort_keys=True).encode("utf-8")


def _text(value: Any, what: str, limit: int = 4096) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise BaselineError(f"baseline {what} is not a string of at most {limit} characters")
    return value


def _number(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << 63:
        raise BaselineError(f"baseline {what} is not a non-negative integer")
    return value


def _digests(value: Any, what: str, width: int) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_DIGESTS:
        raise BaselineError(f"baseline {what} is not a bounded list")
    for item in value:
        if not isinstance(item, str) or len(item) != width or not _HEX.fullmatch(item):
            raise BaselineError(f"baseline {what} holds a malformed digest")
    return tuple(value)


def _entry(raw: Any) -> Entry:
    if not isinstance(raw, dict):
        raise BaselineError("baseline entry is not an object")
    path = _text(raw.get("path"), "entry path")
    if not path.startswith("/"):
        raise BaselineError(f"baseline entry path {path[:80]!r} is not absolute")
    kind = raw.get("kind")
    if kind not in _KINDS:
        raise BaselineError(f"baseline entry {path[:80]}: unknown kind")
    sha256 = _text(raw.get("sha256", ""), "sha256", 64)
    if sha256 and (len(sha256) != 64 or not _HEX.fullmatch(sha256)):
        raise BaselineError(f"baseline entry {path[:80]}: malformed sha256")
    return Entry(
        path=path,
        kind=kind,
        mode=_number(raw.get("mode"), "mode") & 0o7777,
        uid=_number(raw.get("uid"), "uid"),
        gid=_number(raw.get("gid"), "gid"),
        size=_number(raw.get("size", 0), "size"),
        sha256=sha256,
        target=_text(raw.get("target", ""), "link target"),
        chunks=_digests(raw.get("chunks", []), "chunks", 32),
        lines=_digests(raw.get("lines", []), "lines", 16),
        package=_text(raw.get("package", ""), "package", 256),
    )


def parse_statement(payload: bytes) -> Baseline:
    """A baseline from a verified statement payload; ``BaselineError`` if malformed."""
    try:
        doc = json.loads(payload)
    except (ValueError, RecursionError) as err:
        raise BaselineError(f"signed baseline is not JSON: {err}") from err
    if not isinstance(doc, dict) or doc.get("_type") != STATEMENT_TYPE:
        raise BaselineError("signed payload is not an in-toto Statement v1")
    if doc.get("predicateType") != PREDICATE_TYPE:
        raise BaselineError(f"signed statement is not a host baseline ({PREDICATE_TYPE})")
    predicate = doc.get("predicate")
    if not isinstance(predicate, dict):
        raise BaselineError("host baseline has no predicate object")
    raw_entries = predicate.get("entries")
    if not isinstance(raw_entries, list) or len(raw_entries) > MAX_ENTRIES:
        raise BaselineError(f"host baseline entries are not a list of at most {MAX_ENTRIES}")
    digest = hashlib.sha256(_canonical(raw_entries)).hexdigest()
    if doc.get("subject") != [{"name": SUBJECT, "digest": {"sha256": digest}}]:
        raise BaselineError("host baseline subject digest disagrees with its entries")
    directories = predicate.get("directories")
    if not isinstance(directories, list) or len(directories) > 1024:
        raise BaselineError("host baseline directories are not a short list")
    try:
        created = datetime.fromisoformat(_text(predicate.get("created"), "creation time", 64))
    except ValueError as err:
        raise BaselineError("host baseline creation time is not ISO 8601") from err
    return Baseline(
        created=created,
        root=_text(predicate.get("root"), "root"),
        hostname=_text(predicate.get("hostname", ""), "hostname", 256),
        directories=tuple(_text(d, "directory") for d in directories),
        entries=tuple(_entry(e) for e in raw_entries),
        tool=_text(predicate.get("tool", ""), "tool", 256),
    )
