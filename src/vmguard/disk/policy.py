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
import stat
from dataclasses import dataclass, field
from pathlib import Path

from vmguard.disk.errors import HostPathRefused
from vmguard.text import shown_name

# qemu accepts "json:{...}", "nbd://", "file:", "http:" ... as filenames. Two letters or more
# before the colon, so a Windows drive letter is not mistaken (it is refused as absolute).
_PROTOCOL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")


@dataclass(frozen=True, slots=True)
class HostPathPolicy:
    """Directories from which image-named host files may be opened.

    The directory of the image that names a file is always allowed; ``allowed_dirs`` adds
    more (the CLI's ``--allow-dir``). With ``follow_references`` off (the CLI's ``--isolated``,
    for uploads), nothing an image names is opened, not even a file beside the image.
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
        shown = shown_name(name)
        if isinstance(name, bytes):
            try:
                name = name.decode("utf-8")
            except UnicodeDecodeError as err:
                raise HostPathRefused(f"{what} name is not valid UTF-8: {shown}") from err
        if not self.follow_references:
            raise HostPathRefused(
                f"{what} {shown!r} refused: isolated mode (--isolated) opens no file an image names"
            )
        if not name or "\x00" in name:
            raise HostPathRefused(f"{what} name {shown!r} is empty or contains NUL")
        if _PROTOCOL.match(name):
            raise HostPathRefused(f"{what} {shown!r} refused: protocol pseudo-filenames never open")
        try:
            return self._resolve_inside(name, named_by, what, shown)
        except OSError as err:
            # A name past NAME_MAX/PATH_MAX, a loop of symlinks, a directory we may not
            # search: the host cannot look the name up, so nothing is opened.
            reason = os.strerror(err.errno) if err.errno else type(err).__name__
            raise HostPathRefused(f"{what} {shown!r} cannot be looked up: {reason}") from None

    def _resolve_inside(self, name: str, named_by: Path, what: str, shown: str) -> Path:
        candidate = self.named_path(name, named_by)
        base = Path(os.path.realpath(Path(os.path.abspath(named_by)).parent))
        resolved = Path(os.path.realpath(candidate))
        roots = (base, *(Path(os.path.realpath(d)) for d in self.allowed_dirs))
        if not any(resolved == r or r in resolved.parents for r in roots):
            raise HostPathRefused(
                f"{what} {shown!r} resolves to {shown_name(str(resolved))}, outside the image "
                f"directory {shown_name(str(base))} (allow it with --allow-dir)"
            )
        try:
            mode = os.stat(resolved).st_mode
        except (FileNotFoundError, NotADirectoryError):
            raise HostPathRefused(
                f"{what} {shown!r} not found at {shown_name(str(resolved))}"
            ) from None
        if not stat.S_ISREG(mode):
            raise HostPathRefused(f"{what} {shown!r} is not a regular file")
        return resolved
