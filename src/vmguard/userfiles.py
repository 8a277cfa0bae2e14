"""Host files the user names on the command line (signatures, baselines, key and passphrase
files, certificate chains): the one bounded read every command uses for them.

A file is read whole up to a limit and refused beyond it, so a wrong path (a disk image, a
device, a FIFO that never ends) cannot make a command read gigabytes into memory. Errors say
which file and what it was meant to be; they never quote the content, which may be a secret.
"""

from __future__ import annotations

from pathlib import Path

from vmguard.errors import VmguardError


class UserFileError(VmguardError):
    """A file the user named cannot be used: unreadable, too large or empty."""


def read_user_file(path: Path, what: str, limit: int, *, allow_empty: bool = True) -> bytes:
    """The whole of ``path`` (at most ``limit`` bytes); ``what`` names it in errors."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as err:
        raise UserFileError(f"{path}: cannot read the {what} ({err.strerror})") from err
    if len(data) > limit:
        raise UserFileError(f"{path}: the {what} is larger than {limit} bytes")
    if not data and not allow_empty:
        raise UserFileError(f"{path}: the {what} is empty")
    return data


def read_first_line(path: Path, what: str, limit: int) -> bytes:
    """The first line of ``path`` without its line ending, as typed at a prompt; refused
    when it is empty."""
    data = read_user_file(path, what, limit, allow_empty=False)
    line = data.split(b"\n", 1)[0].removesuffix(b"\r")
    if not line:
        raise UserFileError(f"{path}: the {what}'s first line is empty")
    return line
