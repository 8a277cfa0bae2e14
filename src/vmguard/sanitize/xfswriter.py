"""Edits on XFS with xfsprogs' ``xfs_db -x``: files are emptied or rewritten in place.

xfsprogs has no offline unlink, so a file to remove is emptied instead: its data blocks are
overwritten with zeros and ``xfs_db`` sets its size to 0 (blocks past EOF are legal XFS
preallocation, and ``xfs_repair -n`` accepts them). A rewrite writes the new, shorter
content into the file's own extents as ``xfs_db bmap`` lists them and sets the size. Only
file data is written here; every metadata change (the inode's size, its checksum) is made
by ``xfs_db``. Files that share blocks (reflink), realtime files, unwritten extents under
the new content, and extents outside the filesystem are refused. ``xfs_db`` needs the
filesystem as a file, so the partition is copied out of the working copy and back.
"""

from __future__ import annotations

import os
import re
import stat as st
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vmguard.sanitize.fswriters import Outcome, Region, SanitizeError, check_fits, run
from vmguard.sanitize.plan import Edit, EditKind
from vmguard.sanitize.workcopy import copy_range

_EXTENT = re.compile(
    r"^data offset (\d+) startblock \d+ \((\d+)/(\d+)\) count (\d+) flag (\d+)$", re.MULTILINE
)
_FIELD = re.compile(r"^([\w.]+) = (\S+)", re.MULTILINE)
_UNLINK_NOTE = "emptied in place (xfsprogs cannot unlink offline)"


@dataclass(frozen=True, slots=True)
class _Geometry:
    block_size: int
    ag_blocks: int
    ag_count: int


def _fields(text: str) -> dict[str, str]:
    return dict(_FIELD.findall(text))


def _xfs_db(part: Path, *commands: str, write: bool = False) -> str:
    args: list[str | Path] = ["xfs_db", "-x" if write else "-r"]
    for command in commands:
        args += ["-c", command]
    code, out, err = run([*args, part])
    if code != 0:
        raise SanitizeError(f"xfs_db failed: {' '.join(err.split())[:200]}")
    return out


def _geometry(part: Path) -> _Geometry:
    f = _fields(_xfs_db(part, "sb 0", "print blocksize agblocks agcount"))
    try:
        return _Geometry(int(f["blocksize"]), int(f["agblocks"]), int(f["agcount"]))
    except (KeyError, ValueError) as err:
        raise SanitizeError("xfs_db printed no geometry") from err


def _set_content(part: Path, geo: _Geometry, inode: int, content: bytes) -> None:
    out = _xfs_db(part, f"inode {inode}", "print core.mode core.realtime", "bmap")
    fields = _fields(out)
    if _fields(_xfs_db(part, f"inode {inode}", "print v3.reflink")).get("v3.reflink") == "1":
        raise SanitizeError("shares blocks with other files (reflink)")
    if fields.get("core.realtime", "0") != "0":
        raise SanitizeError("a realtime file")
    bs = geo.block_size
    covered = 0
    fd = os.open(part, os.O_RDWR)
    try:
        for m in _EXTENT.finditer(out):
            offset, agno, agbno, count, flag = (int(g) for g in m.groups())
            if agno >= geo.ag_count or agbno + count > geo.ag_blocks or count <= 0:
                raise SanitizeError("an extent lies outside the filesystem")
            start, end = offset * bs, (offset + count) * bs
            data = content[start:end]
            if data and flag != 0:
                raise SanitizeError("new content would land in an unwritten extent")
            if flag == 0:
                os.pwrite(
                    fd, data + bytes(end - start - len(data)), (agno * geo.ag_blocks + agbno) * bs
                )
            if start <= covered < end:
                covered = end
    finally:
        os.close(fd)
    if covered < len(content):
        raise SanitizeError("the new content does not fit the file's blocks")
    done = _xfs_db(part, f"inode {inode}", f"write core.size {len(content)}", write=True)
    if _fields(done).get("core.size") != str(len(content)):
        raise SanitizeError("xfs_db did not set the size")


def apply_xfs(region: Region, edits: Sequence[Edit], workdir: Path) -> list[Outcome]:
    """Empty or rewrite files on an XFS filesystem of the working copy."""
    check_fits(region)
    part = workdir / f"xfs-{region.offset}.img"
    copy_range(region.raw, region.offset, part, 0, region.size)
    geo = _geometry(part)
    outcomes = []
    for edit in edits:
        if edit.kind is EditKind.REMOVE_DIR or not st.S_ISREG(edit.stat.mode):
            outcomes.append(Outcome(edit, "xfsprogs cannot unlink offline; left as is"))
            continue
        content = (edit.content or b"") if edit.kind is EditKind.REWRITE else b""
        try:
            _set_content(part, geo, edit.inode, content)
        except SanitizeError as err:
            outcomes.append(Outcome(edit, err.diagnostics()))
            continue
        note = _UNLINK_NOTE if edit.kind is EditKind.REMOVE else None
        outcomes.append(Outcome(edit, None, note, expect=content))
    copy_range(part, 0, region.raw, region.offset, region.size)
    part.unlink()
    return outcomes
