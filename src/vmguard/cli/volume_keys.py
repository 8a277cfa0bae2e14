"""``--key-file`` / ``--passphrase-file``: secrets that open encrypted volumes.

A secret is read from a file, never from the command line (where ``ps`` and shell history
would show it). A key file is used whole, as ``cryptsetup --key-file`` uses it; a passphrase
file is its first line without the line ending, as typed at a prompt.

This module must never print, log or put in an error message the content of these files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vmguard.cli.output import fail
from vmguard.disk.volumes.luks_unlock import VolumeSecret

MAX_SECRET_BYTES = 8 * 1024 * 1024
"""cryptsetup's default key file size limit."""

KeyFile = Annotated[
    list[Path] | None,
    typer.Option(
        "--key-file",
        help="Open LUKS/BitLocker volumes with this key file (used whole, like cryptsetup; "
        "a BitLocker startup key .BEK or recovery key .TXT works). Repeatable.",
    ),
]
PassphraseFile = Annotated[
    list[Path] | None,
    typer.Option(
        "--passphrase-file",
        help="Open LUKS/BitLocker volumes with the passphrase (or BitLocker recovery password) "
        "on this file's first line. Repeatable.",
    ),
]


def _read(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_SECRET_BYTES + 1)
    except OSError as err:
        fail(f"{path}: cannot read the {what} ({err.strerror})")
    if len(data) > MAX_SECRET_BYTES:
        fail(f"{path}: the {what} is larger than {MAX_SECRET_BYTES} bytes")
    if not data:
        fail(f"{path}: the {what} is empty")
    return data


def volume_secrets(
    key_files: list[Path] | None, passphrase_files: list[Path] | None
) -> tuple[VolumeSecret, ...]:
    """The secrets the user named, key files first; exits 2 on an unreadable file."""
    secrets = [VolumeSecret(_read(p, "key file"), "key file") for p in key_files or ()]
    for path in passphrase_files or ():
        line = _read(path, "passphrase file").split(b"\n", 1)[0].removesuffix(b"\r")
        if not line:
            fail(f"{path}: the passphrase file's first line is empty")
        secrets.append(VolumeSecret(line, "passphrase file"))
    return tuple(secrets)
