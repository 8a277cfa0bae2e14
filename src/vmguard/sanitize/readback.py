"""Every change read back with vmguard's own readers before it is reported as made.

The writing tools' exit codes and messages are not the evidence (debugfs exits 0 after a
failed command): an edit counts only when the entry is gone, or holds exactly the bytes
written — for an ext rewrite, with the old owner and mode as well.
"""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

from vmguard.disk.errors import DiskError
from vmguard.disk.fskind import EXT_KINDS
from vmguard.disk.guestfs import GuestFS
from vmguard.inspection import ImageOptions, open_guest
from vmguard.sanitize.fswriters import Outcome


def verify_outcomes(raw: Path, outcomes: list[Outcome]) -> list[Outcome]:
    """Read every change back with vmguard's own readers: an edit counts only when the
    entry is gone or holds exactly what was written (ext rewrites: with the old owner and
    mode too). The tools' exit codes and messages are not the evidence."""
    fs = open_guest(raw, ImageOptions(forced_format="raw")).layout.guestfs
    checked = []
    for outcome in outcomes:
        problem = None
        if outcome.error is None:
            problem = "no filesystem" if fs is None else _readback(fs, outcome)
        if problem is None:
            checked.append(outcome)
            continue
        said = f" (tool said: {outcome.said})" if outcome.said else ""
        checked.append(replace(outcome, error=f"not applied: {problem}{said}"))
    return checked


def _readback(fs: GuestFS, outcome: Outcome) -> str | None:
    edit = outcome.edit
    try:
        found = fs.resolve(edit.path, follow=False)
    except DiskError as err:
        return err.diagnostics()
    if outcome.expect is None:
        return None if found is None else "still there"
    if found is None:
        return "gone, not rewritten"
    _, mount, node = found
    info = mount.fs.stat(node)
    if not stat.S_ISREG(info.mode) or info.size != len(outcome.expect):
        return f"holds {info.size} bytes, not {len(outcome.expect)}"
    if fs.read_node(mount, node, 0, info.size) != outcome.expect:
        return "holds other bytes than were written"
    if mount.fs.kind in EXT_KINDS and (stat.S_IMODE(info.mode), info.uid, info.gid) != (
        stat.S_IMODE(edit.stat.mode),
        edit.stat.uid,
        edit.stat.gid,
    ):
        return "its owner or mode changed"
    return None
