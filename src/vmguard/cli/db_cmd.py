"""``vmguard db import FILE...``, ``db update`` and ``db status``: the local advisory index."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vmguard.cli.advisory_options import OldVulnsDb, VulnsDb, advisory_db
from vmguard.cli.output import fail
from vmguard.cli.progress import byte_bars
from vmguard.report.interface import OutputFormat
from vmguard.text import printable
from vmguard.vulns.database import import_advisories
from vmguard.vulns.index import IndexStatus, open_index
from vmguard.vulns.location import resolve_location

if TYPE_CHECKING:
    from vmguard.vulns.freshness import AdvisoryAge
    from vmguard.vulns.update import EcosystemUpdate

OSV_SOURCE = "https://osv-vulnerabilities.storage.googleapis.com"

db_app = typer.Typer(
    name="db", help="The local vulnerability database (OSV advisories).", no_args_is_help=True
)


@db_app.command("import")
def import_command(
    files: Annotated[
        list[Path], typer.Argument(help="OSV all.zip archives, OSV JSON files or directories.")
    ],
    vulns_db: VulnsDb = None,
    db: OldVulnsDb = None,
) -> None:
    """Import OSV advisories; re-importing is incremental and idempotent."""
    location = resolve_location(advisory_db(vulns_db, db))
    with open_index(location, writable=True) as index:
        summary = import_advisories(index, files)
    for source in summary.sources:
        c = source.counts
        typer.echo(
            f"{source.source}: {source.records} records: {c.added} added, {c.updated} updated, "
            f"{c.unchanged} unchanged, {c.older} older than held, {c.withdrawn} withdrawn, "
            f"{source.skipped} skipped"
        )
    for skipped in summary.skipped[:20]:
        sys.stderr.write(
            f"vmguard: skipped {printable(skipped.where)}: {printable(skipped.reason)}\n"
        )
    typer.echo(f"index: {summary.index_path}")


def warn_if_stale(age: AdvisoryAge) -> None:
    """A console warning (stderr) when the advisories are older than allowed."""
    warning = age.warning()
    if warning is not None:
        sys.stderr.write(f"vmguard: warning: {printable(warning)}\n")


def _image_ecosystems(images: list[Path]) -> list[str]:
    from vmguard.inspection import ImageOptions, inspect_image
    from vmguard.vulns.ecosystems import inventory_ecosystems

    names: list[str] = []
    for image in images:
        if not image.is_file():
            fail(f"{image}: no such image file")
        inventory = inspect_image(image, ImageOptions(), applications=True).inventory
        names += inventory_ecosystems(inventory) if inventory is not None else []
    return names


def _update_line(result: EcosystemUpdate) -> str:
    if not result.modified:
        return f"{result.ecosystem}: not modified since the last update ({result.url})"
    resumed = f", resumed at byte {result.resumed_from}" if result.resumed_from else ""
    line = f"{result.ecosystem}: {result.size} bytes from {result.url}{resumed}"
    if result.imported is not None:
        c = result.imported.counts
        line += (
            f"; {result.imported.records} records: {c.added} added, {c.updated} updated,"
            f" {c.unchanged} unchanged, {c.withdrawn} withdrawn, {result.imported.skipped} skipped"
        )
    return line


@db_app.command("update")
def update_command(
    images: Annotated[
        list[Path] | None,
        typer.Argument(help="Images whose ecosystems to fetch (default: those the index holds)."),
    ] = None,
    ecosystem: Annotated[
        list[str] | None,
        typer.Option(
            "--ecosystem", help="OSV ecosystem to fetch (Debian, PyPI, npm...); repeatable."
        ),
    ] = None,
    source: Annotated[
        str, typer.Option("--source", help="Base URL of OSV's archives, or of a mirror.")
    ] = OSV_SOURCE,
    vulns_db: VulnsDb = None,
    db: OldVulnsDb = None,
) -> None:
    """Download OSV's per-ecosystem archives (<source>/<Ecosystem>/all.zip) and import them.

    Conditional and resumable; each archive is verified before it replaces the kept copy.
    Never run by any other command: scanning stays offline.
    """
    from vmguard.vulns.update import ARCHIVE_ECOSYSTEMS, needed_ecosystems, update_ecosystem

    location = resolve_location(advisory_db(vulns_db, db))
    wanted = list(ecosystem or [])
    unknown = [e for e in wanted if e not in ARCHIVE_ECOSYSTEMS]
    if unknown:
        fail(f"unknown ecosystem {printable(unknown[0])!r}: one of {', '.join(ARCHIVE_ECOSYSTEMS)}")
    wanted += _image_ecosystems(images or [])
    if not wanted and location.is_file():
        with open_index(location) as index:
            wanted = list(index.distributions())
    wanted = needed_ecosystems(wanted)
    if not wanted:
        fail("nothing to update: name an ecosystem (--ecosystem Debian) or an image")
    with byte_bars() as bars:
        for name in wanted:
            progress = None
            if bars is not None:
                progress = lambda eco, done, total, bars=bars: bars(f"{eco} all.zip", done, total)  # noqa: E731
            result = update_ecosystem(location, name, source, progress=progress)
            typer.echo(_update_line(result))
    typer.echo(f"index: {location}")


def _age(stamp: str | None) -> str:
    if not stamp:
        return "never"
    try:
        then = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    seconds = int((datetime.now(UTC) - then).total_seconds())
    days, rest = divmod(max(seconds, 0), 86400)
    return f"{stamp} ({days} days {rest // 3600} hours ago)"


def _status_json(status: IndexStatus) -> dict[str, object]:
    return {
        "path": status.path,
        "schema_version": status.schema_version,
        "advisories": status.advisories,
        "releases": {name: count for name, count in status.releases},
        "last_import": status.last_import,
        "newest_modified": status.newest_modified,
        "imports": status.imports,
    }


@db_app.command("status")
def status_command(
    vulns_db: VulnsDb = None,
    db: OldVulnsDb = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.", case_sensitive=False)
    ] = OutputFormat.CONSOLE,
) -> None:
    """Say what the advisory index holds and how old it is."""
    with open_index(resolve_location(advisory_db(vulns_db, db))) as index:
        status = index.status()
    if output_format is OutputFormat.JSON:
        typer.echo(json.dumps(_status_json(status), indent=2))
        return
    typer.echo(f"index: {status.path} (schema {status.schema_version})")
    typer.echo(f"advisories: {status.advisories}")
    for name, count in status.releases:
        typer.echo(f"  {printable(name)}: {count}")
    typer.echo(f"last import: {_age(status.last_import)} ({status.imports} sources imported)")
    typer.echo(f"newest advisory modified: {status.newest_modified or 'none'}")
