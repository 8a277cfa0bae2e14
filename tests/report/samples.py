"""Constants the report tests share."""

from __future__ import annotations

FORMATS = ("console", "json", "sarif", "html", "junit")
"""Every --format of a report command."""

HOSTILE_NAMES = (
    "<img src=x onerror=alert(1)>&\"'#?%41 \u202etxt.pem",
    "evil\x1b[2J\x1b[31m\nFAKE vmguard: no findings\x07.pem",
)
"""File names a hostile guest chooses: markup, URI delimiters, a bidi override, a terminal
escape sequence and a line break. Each holds a private key, so each becomes a finding."""
