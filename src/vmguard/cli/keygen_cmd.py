"""``vmguard keygen``: make a signing key pair (PEM/PKCS#8, optionally encrypted)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vmguard.cli.integrity_options import PassphraseFile
from vmguard.integrity.keys import KeyType, generate_key, read_passphrase, write_key_pair


def keygen_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Private key file to create.")],
    key_type: Annotated[
        KeyType, typer.Option("--type", "-t", help="Key algorithm.", case_sensitive=False)
    ] = KeyType.ED25519,
    public: Annotated[
        Path | None, typer.Option("--public", help="Public key file (default: OUTPUT.pub).")
    ] = None,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Create a signing key pair; refuses to overwrite existing files."""
    public_path = public or output.with_name(output.name + ".pub")
    key = generate_key(key_type)
    written = write_key_pair(key, output, public_path, read_passphrase(passphrase_file))
    typer.echo(f"{key_type.value} key {written.keyid}")
    typer.echo(f"private key: {output}")
    typer.echo(f"public key:  {public_path}")
