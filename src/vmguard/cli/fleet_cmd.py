"""``vmguard fleet scan SOURCE...`` and ``vmguard fleet report``: argument parsing and
rendering only; the work is in ``vmguard.fleet``, the report writers in ``vmguard.report``.

Never prints a fingerprint or marker HMAC (nothing it gets holds one), a database password
or a volume key (read from files only, by ``luks_unlock.secrets_from_files``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from vmguard.cli.options import (
    AllowDir,
    FailOn,
    FleetVulnsDb,
    Isolated,
    KeyFile,
    Output,
    OutputFormatOption,
    VolumePassphraseFile,
    follows_references,
)
from vmguard.cli.output import EXIT_FINDINGS, EXIT_OK, emit_fleet, fail
from vmguard.findings import Severity
from vmguard.fleet.defaults import ENV_VAR
from vmguard.fleet.engine import EngineName
from vmguard.report.interface import OutputFormat

if TYPE_CHECKING:
    from vmguard.fleet.task import ImageResult

fleet_app = typer.Typer(
    name="fleet",
    help="Scan an image catalogue at scale and report its posture from one database.",
    no_args_is_help=True,
)


FleetDb = Annotated[
    str | None,
    typer.Option(
        "--db",
        help=f"Results database: a path, sqlite:/// or postgresql:// URL (default: ${ENV_VAR}, "
        "else $XDG_DATA_HOME/vmguard/fleet.sqlite).",
    ),
]


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
    vulns_db: FleetVulnsDb = None,
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
    key_file: KeyFile = None,
    passphrase_file: VolumePassphraseFile = None,
) -> None:
    """Scan every image the sources hold; unchanged images are not read again. With
    --isolated, exit 2 after the run when an image was refused for naming another file."""
    from vmguard.disk.volumes.luks_unlock import secrets_from_files
    from vmguard.fleet import collect_catalogue, open_database, scan_catalogue
    from vmguard.fleet.database import shown
    from vmguard.fleet.engine import make_engine
    from vmguard.inspection import ImageOptions
    from vmguard.scanning import MiB, ScanOptions
    from vmguard.text import printable
    from vmguard.vulns.database import open_default_index

    chosen = make_engine(engine, scheduler, workers)
    options = ScanOptions(
        image=ImageOptions(
            allowed_dirs=tuple(allow_dir or ()),
            follow_references=follows_references(isolated, allow_dir),
            secrets=secrets_from_files(key_file or (), passphrase_file or ()),
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
                shown = escape(printable(name, 40))  # an image's file name, shown as text
                bar.update(task, completed=done, total=total, description=f"fleet {shown}")

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
    for problem in summary.errors:
        typer.echo(f"failed: {printable(problem.where)}: {printable(problem.reason)}")
    for reason, count in sorted(Counter(s.reason for s in summary.skipped).items()):
        typer.echo(f"skipped: {count} files: {printable(reason)}")
    if isolated and summary.refused:
        # An upload pipeline gates on the exit code: an image that names another file is
        # refused, and the run says so (the other images were still scanned and stored).
        fail(
            f"{len(summary.refused)} of {summary.images} images refused under --isolated "
            f"(they name a file it does not open), first: {printable(summary.refused[0])}"
        )


@fleet_app.command("report")
def fleet_report_command(
    db: FleetDb = None,
    output_format: OutputFormatOption = OutputFormat.CONSOLE,
    output: Output = None,
    fail_on: FailOn = Severity.HIGH,
) -> None:
    """The catalogue's posture: worst severities, threats, OS and age, shared secrets, changes."""
    from vmguard.fleet import load_posture, open_database

    database = open_database(db, existing=True)
    try:
        posture = load_posture(database)
    finally:
        database.close()
    emit_fleet(posture, output_format, output)
    raise typer.Exit(EXIT_FINDINGS if posture.reaches(fail_on) else EXIT_OK)
