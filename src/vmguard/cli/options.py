"""Options shared by several commands, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vmguard.disk.probe import READABLE_FORMATS
from vmguard.findings import Severity
from vmguard.report.interface import OutputFormat

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
