"""Kubernetes Secret manifests (YAML or JSON) that carry values.

``data`` values are base64 and ``stringData`` values plain; both are credentials however
encoded. Only key names appear in the evidence; templated values (``{{ ... }}``) and empty
ones are not secrets.
"""

from __future__ import annotations

import base64
import binascii
import re

from vmguard.checks.secrets.validators import Verdict, is_placeholder

_WINDOW = 16 * 1024
_MAX_KEYS = 50
_YAML_SECTION = re.compile(rb"^(?P<indent>[ \t]*)(?:data|stringData):[ \t]*\n", re.MULTILINE)
_YAML_ENTRY = re.compile(rb"[ \t]+[\"']?([\w.-]{1,253})[\"']?:[ \t]*(\S[^\n]*)")
_JSON_SECTION = re.compile(rb"\"(?:data|stringData)\"\s*:\s*\{([^{}]{1,65536})\}")
_JSON_ENTRY = re.compile(rb"\"([\w.-]{1,253})\"\s*:\s*\"([^\"]*)\"")


def _document(data: bytes, start: int) -> tuple[int, int]:
    """Where the YAML document (between ``---`` lines) or JSON text around the match lies."""
    lo = max(0, start - _WINDOW)
    begin = data.rfind(b"\n---", lo, start)
    end = data.find(b"\n---", start, start + _WINDOW)
    return (begin + 1 if begin >= 0 else lo, end if end >= 0 else min(len(data), start + _WINDOW))


def _yaml_entries(document: bytes) -> list[tuple[bytes, bytes]]:
    entries: list[tuple[bytes, bytes]] = []
    for section in _YAML_SECTION.finditer(document):
        indent = len(section.group("indent"))
        for line in document[section.end() :].split(b"\n"):
            stripped = line.lstrip(b" \t")
            if not stripped or stripped.startswith(b"#"):
                continue
            if len(line) - len(stripped) <= indent:
                break
            m = _YAML_ENTRY.match(line)
            if m:
                entries.append((m.group(1), m.group(2).strip().strip(b"\"'")))
    return entries


def _json_entries(document: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (m.group(1), m.group(2))
        for section in _JSON_SECTION.finditer(document)
        for m in _JSON_ENTRY.finditer(section.group(1))
    ]


def _real(value: bytes) -> bool:
    if not value or value in (b"|", b">", b"''", b'""') or is_placeholder(value):
        return False
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return True  # stringData, or a block scalar's first line
    return bool(decoded.strip()) and not is_placeholder(decoded)


def validate_kubernetes_secret(data: bytes, start: int) -> Verdict | None:
    """A Secret manifest with at least one real value: its key names, values redacted."""
    extent = _document(data, start)
    document = data[extent[0] : extent[1]]
    entries = _yaml_entries(document) + _json_entries(document)
    real = [(key, value) for key, value in entries[:_MAX_KEYS] if _real(value)]
    if not real:
        return None
    names = ", ".join(key.decode("ascii", "replace")[:40] for key, _ in real[:8])
    more = f" and {len(real) - 8} more" if len(real) > 8 else ""
    return Verdict(
        f"Secret with values for {names}{more} [values redacted]",
        secret=b"\0".join(value for _, value in real),
        extent=extent,
    )
