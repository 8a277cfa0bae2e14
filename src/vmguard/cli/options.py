"""Options shared by several commands, declared once, and the options objects built from them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vmguard.disk.formats import READABLE_FORMATS
from vmguard.findings import Severity
from vmguard.report.interface import OutputFormat

if TYPE_CHECKING:
    from vmguard.inspection import ImageOptions

ImageArgument = Annotated[
    Path, typer.Argument(help="Disk image: qcow2, raw, VMDK, VHD, VHDX or OVA.")
]
OutputFormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="Report format.", case_sensitive=False)
]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here.")]
ImageFormat = Annotated[
    str | None,
    typer.Option(
        "--image-format",
        "-f",
        help=f"Force the container format ({', '.join(READABLE_FORMATS)}); never second-guessed.",
    ),
]
AllowDir = Annotated[
    list[Path] | None,
    typer.Option("--allow-dir", help="Also open backing files and extents from this directory."),
]
Isolated = Annotated[
    bool,
    typer.Option(
        "--isolated",
        help="Open no file an image names (backing file, data file, extent, parent), not even "
        "one beside it: refuse such images. For images from untrusted uploads.",
    ),
]


def follows_references(isolated: bool, allow_dir: list[Path] | None) -> bool:
    """Whether files an image names may be opened; ``--isolated`` with ``--allow-dir`` is a
    contradiction the user must resolve."""
    if isolated and allow_dir:
        raise typer.BadParameter("--isolated opens no referenced file: drop --allow-dir")
    return not isolated


FailOn = Annotated[
    Severity, typer.Option("--fail-on", help="Exit 1 when a finding reaches this severity.")
]
MaxDbAge = Annotated[
    int,
    typer.Option(
        "--max-db-age", min=0, help="Warn when the advisories were imported more days ago."
    ),
]
Policy = Annotated[
    Path | None, typer.Option("--policy", help="Policy file (default: ./vmguard.toml).")
]

# Secrets are read from files, never from the command line (where ``ps`` and shell history
# would show them); the files are read by ``disk.volumes.luks_unlock.secrets_from_files``.
KeyFile = Annotated[
    list[Path] | None,
    typer.Option(
        "--key-file",
        help="Open LUKS/BitLocker volumes with this key file (used whole, like cryptsetup; "
        "a BitLocker startup key .BEK or recovery key .TXT works). Repeatable.",
    ),
]
VolumePassphraseFile = Annotated[
    list[Path] | None,
    typer.Option(
        "--passphrase-file",
        help="Open LUKS/BitLocker volumes with the passphrase (or BitLocker recovery password) "
        "on this file's first line. Repeatable.",
    ),
]


def image_options(
    image_format: str | None,
    allow_dir: list[Path] | None,
    key_file: list[Path] | None,
    passphrase_file: list[Path] | None,
    isolated: bool,
) -> ImageOptions:
    """How to open images, from the image options block (--image-format, --allow-dir,
    --key-file, --passphrase-file, --isolated)."""
    from vmguard.disk.volumes.luks_unlock import secrets_from_files
    from vmguard.inspection import ImageOptions

    return ImageOptions(
        forced_format=image_format,
        allowed_dirs=tuple(allow_dir or ()),
        secrets=secrets_from_files(key_file or (), passphrase_file or ()),
        follow_references=follows_references(isolated, allow_dir),
    )


FleetVulnsDb = Annotated[
    str | None, typer.Option("--vulns-db", help="Advisory index (as `vmguard db --vulns-db`).")
]
"""``fleet``'s name for the advisory index (its --db is the fleet database). The full
declaration, with the default location, is ``advisory_options.VulnsDb``: importing it loads
the advisory layer, which ``fleet report`` does not need."""
