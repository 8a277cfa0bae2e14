"""Apply planned edits with each filesystem's own maintained user-space tool.

ext2/3/4: e2fsprogs' ``debugfs -w`` on ``work.raw?offset=N``, every change addressed by the
inode numbers vmguard resolved (``<ino>``), names quoted; a rewritten file is a new inode
given the old one's mode, owner, times and extended attributes (SELinux labels). FAT:
mtools on ``work.raw@@N``. XFS: ``xfs_db -x`` (see ``xfswriter``). Nothing here writes a
filesystem structure itself, and no tool is given a host path other than the private
working copy and temporary files this process created. Before any tool runs, the
filesystem's own size must fit inside its partition, so a hostile superblock cannot steer
a write into a neighbouring partition.
"""

from __future__ import annotations

import os
import re
import stat as st
import struct
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vmguard.disk.fskind import EXT_KINDS, FsKind
from vmguard.errors import VmguardError
from vmguard.sanitize.plan import Edit, EditKind

_TOOL_TIMEOUT = 600
# Names a tool's command language can carry verbatim; anything else is not written.
_DEBUGFS_UNSAFE = re.compile(r'["\\\x00-\x1f\x7f]')
_MTOOLS_UNSAFE = re.compile(r'[*?\[\]"\\\x00-\x1f\x7f]')


class SanitizeError(VmguardError):
    """The sanitized copy could not be made."""


@dataclass(frozen=True, slots=True)
class Region:
    """A contiguous filesystem inside the raw working copy."""

    raw: Path
    offset: int
    size: int
    kind: FsKind


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one edit: ``error`` is None when the tool made the change."""

    edit: Edit
    error: str | None = None
    note: str | None = None
    """How the change differs from the plan (e.g. emptied where removing is impossible)."""
    expect: bytes | None = field(default=None, repr=False)
    """What the file must hold afterwards; None when the entry must be gone."""
    said: str | None = None
    """What the tool printed on stderr for the run that carried this edit."""


def expected(edit: Edit) -> bytes | None:
    """The content a successful edit leaves (None: the entry is gone)."""
    if edit.kind is EditKind.TRUNCATE:
        return b""
    if edit.kind is EditKind.REWRITE:
        return edit.content or b""
    return None


def run(
    args: Sequence[str | Path], *, env: dict[str, str] | None = None, stdin: bytes = b""
) -> tuple[int, str, str]:
    """Run a tool (argument list, never a shell); (exit code, stdout, stderr)."""
    try:
        done = subprocess.run(
            [str(a) for a in args],
            input=stdin,
            capture_output=True,
            timeout=_TOOL_TIMEOUT,
            env=env,
            check=False,
        )
    except FileNotFoundError as err:
        raise SanitizeError(f"{args[0]} is not installed (run `make setup`)") from err
    except subprocess.TimeoutExpired as err:
        raise SanitizeError(f"{args[0]} did not finish in {_TOOL_TIMEOUT} s") from err
    return (
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )


def _read(raw: Path, offset: int, length: int) -> bytes:
    with open(raw, "rb") as f:
        f.seek(offset)
        return f.read(length)


def claimed_size(region: Region) -> int:
    """The size the filesystem's own superblock claims, in bytes."""
    if region.kind in EXT_KINDS:
        sb = _read(region.raw, region.offset + 1024, 1024)
        log_bs = struct.unpack_from("<I", sb, 24)[0]
        blocks = struct.unpack_from("<I", sb, 4)[0]
        if struct.unpack_from("<I", sb, 96)[0] & 0x80:
            blocks |= struct.unpack_from("<I", sb, 0x150)[0] << 32
        return int(blocks * (1024 << min(log_bs, 16)))
    if region.kind == FsKind.VFAT:
        boot = _read(region.raw, region.offset, 512)
        bps = struct.unpack_from("<H", boot, 11)[0]
        total = struct.unpack_from("<H", boot, 19)[0] or struct.unpack_from("<I", boot, 32)[0]
        return int(bps * total)
    if region.kind == FsKind.NTFS:
        boot = _read(region.raw, region.offset, 512)
        bps = struct.unpack_from("<H", boot, 11)[0]
        return int(struct.unpack_from("<Q", boot, 0x28)[0] * bps)
    if region.kind == FsKind.XFS:
        sb = _read(region.raw, region.offset, 512)
        bs = struct.unpack_from(">I", sb, 4)[0]
        return int(struct.unpack_from(">Q", sb, 8)[0] * bs)
    raise SanitizeError(f"no writer for {region.kind}")


def check_fits(region: Region) -> None:
    """Refuse a filesystem whose superblock claims more bytes than its partition holds."""
    claimed = claimed_size(region)
    if claimed <= 0 or claimed > region.size:
        raise SanitizeError(
            f"{region.kind} at offset {region.offset} claims {claimed} bytes in a "
            f"{region.size}-byte partition; not written"
        )


def tool_errors(stderr: str, banner: str) -> str | None:
    """A tool's error lines in one line (its version banner left out), None if none."""
    lines = [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith(banner)]
    return " ".join(" ".join(lines).split())[:300] or None


_EA_LINE = re.compile(r"^\s+([A-Za-z0-9_.@+-]+) \(\d+\)", re.MULTILINE)


def _xattr_names(device: str, inode: int) -> list[str]:
    """Extended attribute names of an inode (SELinux labels, capabilities, ACLs)."""
    code, out, stderr = run(["debugfs", "-R", f"ea_list <{inode}>", device])
    error = tool_errors(stderr, "debugfs ")
    if code != 0 or error is not None:
        raise SanitizeError(f"debugfs ea_list failed: {error or code}")
    # system.data holds inline file data: it goes with the old inode, not onto the new one
    return [n for n in _EA_LINE.findall(out) if n != "system.data"]


def _debugfs_script(edit: Edit, workdir: Path, index: int, xattrs: Sequence[str] = ()) -> list[str]:
    quoted = f'"{edit.name}"'
    if edit.kind is EditKind.REMOVE:
        return [f"cd <{edit.parent_inode}>", f"rm {quoted}"]
    if edit.kind is EditKind.REMOVE_DIR:
        return [f"cd <{edit.parent_inode}>", f"rmdir {quoted}"]
    if edit.kind is EditKind.TRUNCATE:
        return [f"punch <{edit.inode}> 0", f"sif <{edit.inode}> size 0"]
    content = workdir / f"content-{index}"
    content.write_bytes(edit.content or b"")
    info = edit.stat
    saved = [(name, workdir / f"xattr-{index}-{i}") for i, name in enumerate(xattrs)]
    return [
        f"cd <{edit.parent_inode}>",
        *(f"ea_get -f {file} <{edit.inode}> {name}" for name, file in saved),
        f"rm {quoted}",
        f"write {content} {quoted}",
        *(f"ea_set -f {file} {quoted} {name}" for name, file in saved),
        f"sif {quoted} mode 0{st.S_IFREG | st.S_IMODE(info.mode):o}",
        f"sif {quoted} uid {info.uid}",
        f"sif {quoted} gid {info.gid}",
        f"sif {quoted} mtime @{info.mtime}",
        f"sif {quoted} atime @{info.mtime}",
    ]


_BATCH = 256
"""Edits per debugfs run: each run opens the filesystem once, and every edit is verified
afterwards by reading the result back (``verify``), so a batch needs no per-edit exit code."""


def apply_ext(region: Region, edits: Sequence[Edit], workdir: Path) -> list[Outcome]:
    """Apply edits to an ext2/3/4 filesystem with debugfs, in batches."""
    check_fits(region)
    device = f"{region.raw}?offset={region.offset}"
    outcomes: list[Outcome] = []
    ready: list[tuple[Edit, list[str]]] = []
    for index, edit in enumerate(edits):
        if _DEBUGFS_UNSAFE.search(edit.name):
            outcomes.append(Outcome(edit, "the name cannot be passed to debugfs safely"))
            continue
        try:
            xattrs = _xattr_names(device, edit.inode) if edit.kind is EditKind.REWRITE else []
        except SanitizeError as err:
            outcomes.append(Outcome(edit, err.diagnostics()))
            continue
        ready.append((edit, _debugfs_script(edit, workdir, index, xattrs)))
    for start in range(0, len(ready), _BATCH):
        batch = ready[start : start + _BATCH]
        script = "".join(line + "\n" for _, lines in batch for line in lines)
        code, _, stderr = run(["debugfs", "-w", "-f", "-", device], stdin=script.encode())
        said = tool_errors(stderr, "debugfs ") or (f"debugfs exited with {code}" if code else None)
        outcomes += [Outcome(edit, None, expect=expected(edit), said=said) for edit, _ in batch]
    return outcomes


def apply_fat(region: Region, edits: Sequence[Edit], workdir: Path) -> list[Outcome]:
    """Apply edits to a FAT filesystem with mtools (``-i raw@@offset``)."""
    check_fits(region)
    image = f"{region.raw}@@{region.offset}"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MTOOLS_SKIP_CHECK": "1"}
    env["MTOOLSRC"] = "/dev/null"
    empty = workdir / "empty"
    empty.write_bytes(b"")
    outcomes = []
    for index, edit in enumerate(edits):
        if _MTOOLS_UNSAFE.search(edit.relative):
            outcomes.append(Outcome(edit, "the name cannot be passed to mtools safely"))
            continue
        target = "::" + edit.relative
        if edit.kind is EditKind.REMOVE:
            args: list[str | Path] = ["mdel", "-i", image, target]
        elif edit.kind is EditKind.REMOVE_DIR:
            args = ["mrd", "-i", image, target]
        else:
            source = empty
            if edit.kind is EditKind.REWRITE:
                source = workdir / f"content-{index}"
                source.write_bytes(edit.content or b"")
            args = ["mcopy", "-o", "-i", image, source, target]
        code, _, stderr = run(args, env=env)
        error = None if code == 0 else tool_errors(stderr, "\0") or f"exit {code}"
        outcomes.append(Outcome(edit, error, expect=expected(edit)))
    return outcomes
