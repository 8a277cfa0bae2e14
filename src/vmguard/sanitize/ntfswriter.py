"""Edits on NTFS with ntfs-3g's ``ntfscp`` (no mount, no FUSE): files emptied or rewritten.

ntfs-3g's tools have no offline unlink, so a file to remove is emptied: ``ntfscp`` first
overwrites it with zeros at its full length, then writes the (empty) new content; an
answer file (``*.xml``) is instead replaced by an empty, valid ``<unattend/>`` document,
since Windows Setup fails on an answer file it cannot parse. ``ntfscp`` refuses a volume
Windows left hibernated or dirty, and that refusal is reported, never forced. The tools
need the filesystem as a file: the partition is copied out and back.
"""

from __future__ import annotations

import re
import stat as st
from collections.abc import Sequence
from pathlib import Path

from vmguard.sanitize.fswriters import Outcome, Region, check_fits, run, tool_errors
from vmguard.sanitize.plan import Edit, EditKind
from vmguard.sanitize.workcopy import copy_range

EMPTY_ANSWER_FILE = (
    b'<?xml version="1.0" encoding="utf-8"?>\r\n'
    b'<unattend xmlns="urn:schemas-microsoft-com:unattend"/>\r\n'
)
# ":" names an alternate data stream to ntfscp; control characters have no business here.
_UNSAFE = re.compile(r"[:\x00-\x1f\x7f]")


def _replacement(edit: Edit) -> tuple[bytes, str | None]:
    if edit.kind is EditKind.REWRITE:
        return edit.content or b"", None
    if edit.kind is EditKind.TRUNCATE:
        return b"", None
    if edit.name.lower().endswith(".xml"):
        return EMPTY_ANSWER_FILE, "replaced by an empty answer file (no offline unlink on NTFS)"
    return b"", "emptied in place (ntfs-3g's tools cannot unlink offline)"


def apply_ntfs(region: Region, edits: Sequence[Edit], workdir: Path) -> list[Outcome]:
    """Empty or rewrite files on an NTFS filesystem of the working copy."""
    check_fits(region)
    part = workdir / f"ntfs-{region.offset}.img"
    copy_range(region.raw, region.offset, part, 0, region.size)
    outcomes = []
    for index, edit in enumerate(edits):
        if edit.kind is EditKind.REMOVE_DIR or not st.S_ISREG(edit.stat.mode):
            outcomes.append(Outcome(edit, "ntfs-3g's tools cannot unlink offline; left as is"))
            continue
        if _UNSAFE.search(edit.relative):
            outcomes.append(Outcome(edit, "the name cannot be passed to ntfscp safely"))
            continue
        content, note = _replacement(edit)
        # Zeros of the old length first: a small file lives inside its MFT record, and a
        # shorter write leaves the old bytes in the record's slack (measured: the re-scan
        # found an AWS key in /$MFT). Rewriting in place at full length clears them.
        zeros = workdir / f"ntfs-zeros-{index}"
        zeros.write_bytes(bytes(edit.stat.size))
        source = workdir / f"ntfs-content-{index}"
        source.write_bytes(content)
        error = None
        for data in (zeros, source):
            code, _, stderr = run(["ntfscp", "-q", part, data, edit.relative])
            if code != 0:
                error = tool_errors(stderr, "ntfscp ") or f"ntfscp exit {code}"
                break
        outcomes.append(Outcome(edit, error, note, expect=content))
    copy_range(part, 0, region.raw, region.offset, region.size)
    part.unlink()
    return outcomes
