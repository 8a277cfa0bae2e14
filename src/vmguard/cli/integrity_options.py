"""Options shared by sign, verify and gate, declared once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

# Read by ``vmguard.integrity.keys.read_passphrase``.
PassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file", help="Read the private key's passphrase from this file (first line)."
    ),
]
PubKeys = Annotated[
    list[Path] | None,
    typer.Option("--pubkey", help="Trust this PEM public key or CA certificate (repeatable)."),
]
TrustDirs = Annotated[
    list[Path] | None,
    typer.Option("--trust", help="Trust every .pem/.pub/.crt key or CA in this directory."),
]
NotBefore = Annotated[
    str | None,
    typer.Option(
        "--not-before",
        help="Refuse manifests signed before this ISO 8601 time (downgrade protection).",
    ),
]
MinVersion = Annotated[
    int | None, typer.Option("--min-version", help="Refuse manifests with a lower version.")
]


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 time; without a timezone it is taken as UTC."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as err:
        raise typer.BadParameter(f"--not-before {text!r} is not an ISO 8601 time") from err
    return value if value.tzinfo else value.replace(tzinfo=UTC)
