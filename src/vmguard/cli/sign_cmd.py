"""``vmguard sign BUNDLE... --key K -o SIG``: a DSSE/in-toto signature over a VM bundle."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from vmguard.cli.integrity_options import PassphraseFile
from vmguard.cli.options import AllowDir, ImageFormat, Isolated, follows_references
from vmguard.cli.output import fail
from vmguard.cli.progress import byte_bars
from vmguard.integrity.glance import glance_properties
from vmguard.integrity.keys import load_certificate_chain, load_signing_key, read_passphrase
from vmguard.integrity.sign import SignOptions, build_manifest, sign_manifest


def sign_command(
    bundle: Annotated[
        list[Path], typer.Argument(help="Disk images and VM definitions (.xml .vmx .vbox .ovf).")
    ],
    key: Annotated[Path, typer.Option("--key", "-k", help="PEM private key.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Signature file to write.")],
    passphrase_file: PassphraseFile = None,
    cert: Annotated[
        Path | None,
        typer.Option("--cert", help="PEM certificate chain of the key (leaf first) to embed."),
    ] = None,
    manifest_version: Annotated[
        int, typer.Option("--manifest-version", min=0, help="Version stamped on the manifest.")
    ] = 1,
    glance: Annotated[
        bool, typer.Option("--glance", help="Print OpenStack Glance img_signature properties.")
    ] = False,
    cert_uuid: Annotated[
        str | None,
        typer.Option("--cert-uuid", help="Key-manager UUID of the certificate (with --glance)."),
    ] = None,
    image_format: ImageFormat = None,
    allow_dir: AllowDir = None,
    isolated: Isolated = False,
) -> None:
    """Sign disk images (with their backing chains) and VM definitions."""
    if glance and cert_uuid is None:
        fail("--glance needs --cert-uuid (the certificate's UUID in the key manager)")
    for path in bundle:
        if output.exists() and path.exists() and os.path.samefile(output, path):
            fail(f"{output}: the signature would overwrite an input")
    signing_key = load_signing_key(key, read_passphrase(passphrase_file))
    chain = load_certificate_chain(cert, signing_key) if cert is not None else ()
    options = SignOptions(
        manifest_version=manifest_version,
        forced_format=image_format,
        allowed_dirs=tuple(allow_dir or ()),
        follow_references=follows_references(isolated, allow_dir),
    )
    with byte_bars() as bar:
        manifest = build_manifest(bundle, options, bar)
    properties = (
        {d.name: glance_properties(signing_key, d.files[0], cert_uuid) for d in manifest.disks}
        if glance and cert_uuid is not None
        else None
    )
    envelope = sign_manifest(manifest, signing_key, chain)
    try:
        output.write_bytes(envelope)
    except OSError as err:
        fail(f"{output}: cannot write the signature: {err.strerror}")
    summary = (
        f"signed {len(manifest.disks)} disk(s) and {len(manifest.definitions)} definition(s) "
        f"with key {signing_key.public.keyid[:16]} -> {output}"
    )
    if properties is not None:
        typer.echo(summary, err=True)
        typer.echo(json.dumps(properties, indent=2))
    else:
        typer.echo(summary)
