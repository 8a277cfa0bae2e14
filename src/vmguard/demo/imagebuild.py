"""Build real disk images from directory trees with real tools, without mounting anything.

Used by ``vmguard demo`` and by the test suite. Every function shells out to the tool that
owns the format (mkfs.*, mtools, sfdisk, dd, qemu-img) with an argument list, never a shell.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vmguard.errors import VmguardError

MiB = 1024 * 1024
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
LINUX_TYPE = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"


class ImageBuildError(VmguardError):
    """A tool needed to build an image failed or is missing."""


def run_tool(*cmd: str | Path, stdin: bytes | None = None) -> bytes:
    """Run a tool and return its stdout; ``ImageBuildError`` with its stderr on failure."""
    args = [str(c) for c in cmd]
    try:
        result = subprocess.run(args, input=stdin, capture_output=True, check=False)
    except FileNotFoundError as err:
        raise ImageBuildError(f"{args[0]} is not installed (run `make setup`)") from err
    if result.returncode != 0:
        tail = result.stderr.decode(errors="replace").strip()[-800:]
        raise ImageBuildError(f"{args[0]} failed ({result.returncode}): {tail}")
    return result.stdout


def make_ext4(path: Path, tree: Path, size: int, *, label: str, fs_uuid: str) -> None:
    """An ext4 filesystem image holding ``tree`` (mkfs.ext4 -d)."""
    run_tool(
        "mkfs.ext4", "-q", "-F", "-L", label, "-U", fs_uuid, "-d", tree, path, f"{size // 1024}k"
    )


def xfs_protofile(tree: Path) -> str:
    """An mkfs.xfs prototype file reproducing ``tree`` (regular files, dirs, symlinks).

    The prototype format cannot express names with blanks or control characters; such
    entries are left out (build those cases on ext4).
    """
    lines = ["/dev/null", "0 0"]

    def mode_text(st: os.stat_result, kind: str) -> str:
        suid = "u" if st.st_mode & stat.S_ISUID else "-"
        sgid = "g" if st.st_mode & stat.S_ISGID else "-"
        return f"{kind}{suid}{sgid}{stat.S_IMODE(st.st_mode) & 0o777:03o} {st.st_uid} {st.st_gid}"

    def walk(directory: Path, depth: int) -> None:
        for entry in sorted(directory.iterdir()):
            st = entry.lstat()
            pad = " " * depth
            if " " in entry.name or not entry.name.isprintable():
                continue
            if stat.S_ISLNK(st.st_mode):
                lines.append(f"{pad}{entry.name} {mode_text(st, 'l')} {os.readlink(entry)}")
            elif stat.S_ISDIR(st.st_mode):
                lines.append(f"{pad}{entry.name} {mode_text(st, 'd')}")
                walk(entry, depth + 1)
                lines.append(f"{pad}$")
            elif stat.S_ISREG(st.st_mode):
                lines.append(f"{pad}{entry.name} {mode_text(st, '-')} {entry}")

    lines.append(mode_text(tree.lstat(), "d"))
    walk(tree, 1)
    lines.append("$")
    return "\n".join(lines) + "\n"


def make_xfs(path: Path, tree: Path, size: int, *, label: str, fs_uuid: str) -> None:
    """An XFS filesystem image holding ``tree`` (mkfs.xfs -p; XFS needs at least 300 MiB)."""
    proto = path.with_suffix(".proto")
    proto.write_text(xfs_protofile(tree))
    with open(path, "wb") as f:
        f.truncate(max(size, 300 * MiB))
    try:
        run_tool("mkfs.xfs", "-q", "-f", "-L", label, "-m", f"uuid={fs_uuid}", "-p", proto, path)
    finally:
        proto.unlink()


def make_vfat(path: Path, tree: Path, size: int, *, label: str, serial: str) -> None:
    """A FAT32 filesystem image holding ``tree`` (mkfs.vfat, then mtools; no mount)."""
    with open(path, "wb") as f:
        f.truncate(size)
    run_tool("mkfs.vfat", "-F", "32", "-n", label, "-i", serial, path)
    for entry in sorted(tree.rglob("*")):
        rel = entry.relative_to(tree).as_posix()
        if entry.is_dir():
            run_tool("mmd", "-i", path, f"::/{rel}")
        else:
            run_tool("mcopy", "-i", path, entry, f"::/{rel}")


@dataclass(frozen=True, slots=True)
class PartitionSpec:
    """One partition of a GPT disk built by ``assemble_gpt``."""

    image: Path
    """Filesystem image copied into the partition."""
    type_guid: str
    partuuid: str
    name: str


def assemble_gpt(raw: Path, parts: Sequence[PartitionSpec], *, disk_guid: str) -> None:
    """Write a GPT disk (sfdisk) and copy each filesystem image into its 1 MiB-aligned slot."""
    sizes = [p.image.stat().st_size for p in parts]
    slots = [(s + MiB - 1) // MiB * MiB for s in sizes]
    with open(raw, "wb") as f:
        f.truncate(MiB + sum(slots) + MiB)
    script = ["label: gpt", f"label-id: {disk_guid}", "unit: sectors", "first-lba: 2048"]
    start, offsets = MiB, []
    for part, size, slot in zip(parts, sizes, slots, strict=True):
        if '"' in part.name or "\n" in part.name:
            raise ImageBuildError(f"partition name {part.name!r}: no quotes or line breaks")
        script.append(
            f"start={start // 512}, size={size // 512}, type={part.type_guid}, "
            f'uuid={part.partuuid}, name="{part.name}"'
        )
        offsets.append(start)
        start += slot
    run_tool("sfdisk", "-q", raw, stdin="\n".join(script).encode())
    for part, offset in zip(parts, offsets, strict=True):
        run_tool(
            "dd",
            f"if={part.image}",
            f"of={raw}",
            "bs=1M",
            f"seek={offset // MiB}",
            "conv=notrunc,sparse",
            "status=none",
        )


def qemu_convert(raw: Path, out: Path, *options: str) -> Path:
    """``qemu-img convert -f raw`` into another format (``options`` e.g. "-O", "qcow2")."""
    run_tool("qemu-img", "convert", "-f", "raw", *options, raw, out)
    return out
