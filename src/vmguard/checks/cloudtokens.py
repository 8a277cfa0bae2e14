"""Token fields of cloud CLI credential stores kept as JSON (gcloud application default
credentials, Azure CLI token caches), reported redacted. Parsing is bounded in depth and
in the number of values visited; nothing but the token fields is looked at."""

from __future__ import annotations

import json
from collections.abc import Iterable

from vmguard.checks.redact import redact
from vmguard.checks.secrets.validators import is_placeholder

_TOKEN_KEYS = frozenset(
    {"refresh_token", "client_secret", "private_key", "secret", "access_token", "accessToken"}
)


def json_tokens(data: bytes) -> Iterable[tuple[int, str, bytes]]:
    """Token fields of a cloud CLI's JSON credential store (gcloud ADC, Azure CLI caches),
    at any depth up to 8 and at most 1,000 values."""
    try:
        document = json.loads(data)
    except ValueError:
        return
    pending: list[tuple[object, int]] = [(document, 0)]
    visited = 0
    while pending and visited < 1000:
        node, depth = pending.pop()
        visited += 1
        items = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else ()
        )
        for key, value in items:
            if isinstance(value, dict | list) and depth < 8:
                pending.append((value, depth + 1))
            elif key in _TOKEN_KEYS and isinstance(value, str) and len(value) >= 8:
                raw = value.encode()
                if not is_placeholder(raw):
                    yield max(0, data.find(raw[:64])), f"{key}: {redact(raw)}", raw
