"""``vmguard fleet scan SOURCE...`` and ``vmguard fleet report``: argument parsing and
rendering only; the work is in ``vmguard.fleet``.

Never prints a fingerprint or marker HMAC (nothing it gets holds one) nor a database password.
"""

from __future__ import annotations

import sys
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, assert_never

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from vmguard.cli.options import (
    AllowDir,
    FailOn,
    Isolated,
    Output,
    OutputFormatOption,
    follows_references,
)
from vmguard.cli.output import EXIT_FINDINGS, EXIT_OK, emit_all, fail
from vmguard.findings import Severity
from vmguard.fleet.defaults import ENV_VAR
from vmguard.report.interface import OutputFormat

if TYPE_CHECKING:
    from vmguard.fleet import ScanEngine
    from vmguard.fleet.posture import FleetPosture
    from vmguard.fleet.task import ImageResult

fleet_app = typer.Typer(
    name="fleet",
    help="Scan an image catalogue at scale and report its posture from one database.",
    no_args_is_help=True,
)


class EngineName(StrEnum):
    """Where image tasks run."""

    LOCAL = "local"
    DASK = "dask"


FleetDb = Annotated[
    str | None,
    typer.Option(
        "--db",
        help=f"Results database: a path, sqlite:/// or postgresql:// URL (default: ${ENV_VAR}, "
        "else $XDG_DATA_HOME/vmguard/fleet.sqlite).",
    ),
]


def _engine(engine: EngineName, scheduler: str | None, workers: int) -> ScanEngine:
    from vmguard.fleet import DaskEngine, LocalEngine

    match engine:
        case EngineName.LOCAL:
            if scheduler:
                fail("--scheduler is only for --engine dask")
            return LocalEngine(workers)
        case EngineName.DASK:
            if not scheduler:
                fail("--engine dask needs --scheduler tcp://HOST:PORT")
            return DaskEngine(scheduler)
        case _:
            assert_never(engine)


@fleet_app.command("scan")
def fleet_scan_command(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Directories (searched recursively by content), list files of image paths, "
            "image files, or libvirt URIs (qemu:///system, optionally #POOL)."
        ),
    ],
    engine: Annotated[
        EngineName, typer.Option("--engine", help="local process pool, or a Dask cluster.")
    ] = EngineName.LOCAL,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address, tcp://HOST:PORT.")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", help="Local worker processes (0: one per CPU).")
    ] = 0,
    db: FleetDb = None,
    vulns: Annotated[
        bool, typer.Option("--vulns", help="Also match packages against the advisory index.")
    ] = False,
    vulns_db: Annotated[
        str | None, typer.Option("--vulns-db", help="Advisory index (as `vmguard db --db`).")
    ] = None,
    allow_dir: AllowDir = None,
    isolated: Isolated = False,
    yara_rules: Annotated[
        list[Path] | None, typer.Option("--yara-rules", help="Directory of YARA rules to add.")
    ] = None,
    deleted: Annotated[
        bool, typer.Option("--deleted", help="Also scan unallocated space for remnants.")
    ] = False,
    max_file_size: Annotated[
        int, typer.Option("--max-file-size", help="MiB scanned per file (rest listed in errors).")
    ] = 256,
) -> None:
    """Scan every image the sources hold; unchanged images are not read again. With
    --isolated, exit 2 after the run when an image was refused for naming another file."""
    from vmguard.fleet import collect_catalogue, open_database, scan_catalogue
    from vmguard.fleet.database import shown
    from vmguard.inspection import ImageOptions
    from vmguard.report.grouping import printable
    from vmguard.scanning import MiB, ScanOptions
    from vmguard.vulns.database import open_default_index

    if workers < 0:
        fail("--workers must be 0 or more")
    chosen = _engine(engine, scheduler, workers)
    options = ScanOptions(
        image=ImageOptions(
            allowed_dirs=tuple(allow_dir or ()),
            follow_references=follows_references(isolated, allow_dir),
        ),
        yara_dirs=tuple(yara_rules or ()),
        deleted=deleted,
        max_file_bytes=max_file_size * MiB,
        workers=1,
    )
    index = open_default_index(vulns_db) if vulns else None
    if index is not None:
        from vmguard.cli.db_cmd import warn_if_stale
        from vmguard.vulns.freshness import advisory_age

        warn_if_stale(advisory_age(index))
    catalogue = collect_catalogue(sources)
    database = open_database(db)
    stderr = Console(stderr=True)
    try:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=stderr,
            transient=True,
            disable=not stderr.is_terminal,
        ) as bar:
            task = bar.add_task("scanning the fleet", total=len(catalogue.images))

            def advance(done: int, total: int, result: ImageResult | None) -> None:
                name = Path(result.path).name if result is not None else ""
                bar.update(task, completed=done, total=total, description=f"fleet {name[:40]}")

            summary = scan_catalogue(
                catalogue,
                database,
                chosen,
                options,
                sources=sources,
                index=index,
                progress=advance,
            )
    finally:
        database.close()
        if index is not None:
            index.close()
    typer.echo(
        f"{summary.images} images: {summary.scanned} scanned, {summary.unchanged} unchanged, "
        f"{summary.rematched} re-matched, {len(summary.errors)} failed, "
        f"{len(summary.skipped)} files skipped in {summary.duration:.1f} s "
        f"(run #{summary.run_id}, {shown(database.url)})"
    )
    for path, message in summary.errors:
        typer.echo(f"failed: {printable(path)}: {printable(message)}")
    for reason, count in sorted(Counter(s.reason for s in summary.skipped).items()):
        typer.echo(f"skipped: {count} files: {printable(reason)}")
    if isolated and summary.refused:
        # An upload pipeline gates on the exit code: an image that names another file is
        # refused, and the run says so (the other images were still scanned and stored).
        fail(
            f"{len(summary.refused)} of {summary.images} images refused under --isolated "
            f"(they name a file it does not open), first: {printable(summary.refused[0])}"
        )


def _render(posture: FleetPosture, fmt: OutputFormat, output: Path | None) -> None:
    from vmguard.fleet.report_console import write_posture_console
    from vmguard.fleet.report_html import write_posture_html
    from vmguard.fleet.report_json import write_posture_json
    from vmguard.fleet.report_sarif import posture_reports

    match fmt:
        case OutputFormat.SARIF | OutputFormat.JUNIT:
            emit_all(posture_reports(posture), fmt, output)
            return
        case OutputFormat.CONSOLE | OutputFormat.JSON | OutputFormat.HTML:
            pass
        case _:
            assert_never(fmt)
    out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        if fmt is OutputFormat.JSON:
            write_posture_json(posture, out)
        elif fmt is OutputFormat.HTML:
            write_posture_html(posture, out)
        else:
            write_posture_console(posture, out)
    finally:
        if output:
            out.close()


@fleet_app.command("report")
def fleet_report_command(
    db: FleetDb = None,
    output_format: OutputFormatOption = OutputFormat.CONSOLE,
    output: Output = None,
    fail_on: FailOn = Severity.HIGH,
) -> None:
    """The catalogue's posture: worst severities, threats, OS and age, shared secrets, changes."""
    from vmguard.fleet import load_posture, open_database
    from vmguard.fleet.database import resolve_url

    url = resolve_url(db)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        fail(f"{url.database}: no fleet database here yet; run `vmguard fleet scan` first")
    database = open_database(db)
    try:
        posture = load_posture(database)
    finally:
        database.close()
    _render(posture, output_format, output)
    worst = [i.worst.rank for i in posture.images if i.worst is not None]
    worst += [g.severity.rank for g in posture.shared]
    raise typer.Exit(EXIT_FINDINGS if worst and max(worst) >= fail_on.rank else EXIT_OK)
