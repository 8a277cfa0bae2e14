"""``vmguard db import FILE...`` and ``vmguard db status``: the local advisory index."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from vmguard.report.interface import OutputFormat
from vmguard.vulns.database import import_advisories
from vmguard.vulns.index import IndexStatus, open_index
from vmguard.vulns.location import ENV_VAR, resolve_location

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help=f"Advisory index: a path or sqlite:/// URL (default: ${ENV_VAR}, else "
        "$XDG_DATA_HOME/vmguard/vulns.sqlite).",
    ),
]

db_app = typer.Typer(
    name="db", help="The local vulnerability database (OSV advisories).", no_args_is_help=True
)


@db_app.command("import")
def import_command(
    files: Annotated[
        list[Path], typer.Argument(help="OSV all.zip archives, OSV JSON files or directories.")
    ],
    db: DbOption = None,
) -> None:
    """Import OSV advisories; re-importing is incremental and idempotent."""
    location = resolve_location(db)
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
        sys.stderr.write(f"vmguard: skipped {_safe(skipped.origin)}: {_safe(skipped.reason)}\n")
    typer.echo(f"index: {summary.index_path}")


def _safe(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text)


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
    db: DbOption = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.", case_sensitive=False)
    ] = OutputFormat.CONSOLE,
) -> None:
    """Say what the advisory index holds and how old it is."""
    with open_index(resolve_location(db)) as index:
        status = index.status()
    if output_format is OutputFormat.JSON:
        typer.echo(json.dumps(_status_json(status), indent=2))
        return
    typer.echo(f"index: {status.path} (schema {status.schema_version})")
    typer.echo(f"advisories: {status.advisories}")
    for name, count in status.releases:
        typer.echo(f"  {_safe(name)}: {count}")
    typer.echo(f"last import: {_age(status.last_import)} ({status.imports} sources imported)")
    typer.echo(f"newest advisory modified: {status.newest_modified or 'none'}")
