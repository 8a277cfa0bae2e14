"""The ``[epoch:]version[-revision]`` split that dpkg and rpm versions share."""

from __future__ import annotations

from vmguard.text import is_decimal


def split_evr(text: str) -> tuple[int, str, str]:
    """(epoch, version, revision); a missing or non-numeric epoch is 0 and stays in the
    version, and the revision is what follows the last "-" (empty without one)."""
    epoch = 0
    head, colon, rest = text.partition(":")
    if colon and is_decimal(head):
        epoch = int(head)
        text = rest
    version, dash, revision = text.rpartition("-")
    if not dash:
        version, revision = text, ""
    return epoch, version, revision
