"""Which host paths an image may make vmguard open.

An image can name other host files: qcow2 backing and data files, VMDK extents and parents,
VHD/VHDX parents, OVA members. Those names come from strangers. ``HostPathPolicy`` is the only
way the disk layer turns such a name into a host path: protocol pseudo-filenames are refused,
the name is resolved relative to the naming image's directory (as named, the way qemu does:
a symlinked image's relative backing name means a file beside the symlink), and the fully
resolved path (symlinks followed) must lie inside that directory or one the user allowed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from vmguard.disk.errors import HostPathRefused

# qemu accepts "json:{...}", "nbd://", "file:", "http:" ... as filenames. Two letters or more
# before the colon, so a Windows drive letter is not mistaken (it is refused as absolute).
_PROTOCOL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")


def printable(name: str | bytes) -> str:
    """Escape an image-controlled name for one-line messages (no control characters)."""
    text = name.decode("utf-8", "backslashreplace") if isinstance(name, bytes) else name
    return text.encode("unicode_escape").decode("ascii")


@dataclass(frozen=True, slots=True)
class HostPathPolicy:
    """Directories from which image-named host files may be opened.

    The directory of the image that names a file is always allowed; ``allowed_dirs`` adds
    more (the CLI's ``--allow-dir``). With ``follow_references`` off, nothing is opened.
    """

    allowed_dirs: tuple[Path, ...] = field(default_factory=tuple)
    follow_references: bool = True

    @staticmethod
    def named_path(name: str, named_by: Path) -> Path:
        """The path ``name`` means where ``named_by`` names it, as qemu combines them: relative
        to the directory of ``named_by`` as given (a symlinked image's own directory, not its
        target's), before any symlink is followed."""
        if os.path.isabs(name):
            return Path(name)
        return Path(os.path.abspath(named_by)).parent / name

    def resolve(self, name: str | bytes, named_by: Path, what: str) -> Path:
        """Return the host path for ``name`` found inside ``named_by``, or raise HostPathRefused.

        ``what`` says what the name is ("backing file", "VMDK extent", ...), for the message.
        """
        shown = printable(name)
        if isinstance(name, bytes):
            try:
                name = name.decode("utf-8")
            except UnicodeDecodeError as err:
                raise HostPathRefused(f"{what} name is not valid UTF-8: {shown}") from err
        if not self.follow_references:
            raise HostPathRefused(f"{what} {shown!r} refused: following references is disabled")
        if not name or "\x00" in name:
            raise HostPathRefused(f"{what} name {shown!r} is empty or contains NUL")
        if _PROTOCOL.match(name):
            raise HostPathRefused(f"{what} {shown!r} refused: protocol pseudo-filenames never open")
        candidate = self.named_path(name, named_by)
        base = Path(os.path.realpath(Path(os.path.abspath(named_by)).parent))
        resolved = Path(os.path.realpath(candidate))
        roots = (base, *(Path(os.path.realpath(d)) for d in self.allowed_dirs))
        if not any(resolved == r or r in resolved.parents for r in roots):
            raise HostPathRefused(
                f"{what} {shown!r} resolves to {printable(str(resolved))}, outside the image "
                f"directory {printable(str(base))} (allow it with --allow-dir)"
            )
        if not resolved.is_file():
            raise HostPathRefused(f"{what} {shown!r} not found at {printable(str(resolved))}")
        return resolved
