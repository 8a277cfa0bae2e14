"""Real PostgreSQL and a real Dask cluster: same results as SQLite and the local engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from vmguard.fleet import (
    DaskEngine,
    EngineError,
    FleetDatabaseError,
    LocalEngine,
    collect_catalogue,
    load_posture,
    open_database,
    scan_catalogue,
)
from vmguard.fleet.engine import ScanEngine
from vmguard.fleet.posture import FleetPosture
from vmguard.fleet.schema import metadata
from vmguard.inspection import ImageOptions
from vmguard.report.fleet_json import posture_json
from vmguard.scanning import ScanOptions


def _run(fleet: Path, url: str, engine: ScanEngine) -> FleetPosture:
    options = ScanOptions(image=ImageOptions(allowed_dirs=(fleet / "bases",)))
    db = open_database(url)
    try:
        scan_catalogue(collect_catalogue([str(fleet / "catalogue")]), db, engine, options)
        return load_posture(db)
    finally:
        db.close()


def _comparable(posture: FleetPosture) -> dict[str, object]:
    doc = posture_json(posture)
    images = [
        {
            k: v
            for k, v in i.items()
            if k
            in (
                "path",
                "format",
                "os",
                "hostname",
                "worst",
                "summary",
                "findings",
                "errors",
                "error",
            )
        }
        for i in doc["images"]
    ]
    return {"images": images, "shared": doc["shared_secrets"], "summary": doc["summary"]}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_build_exactly_the_schema(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        str(tmp_path / "f.sqlite")
        if backend == "sqlite"
        else request.getfixturevalue("postgres_db")
    )
    db = open_database(url)
    try:
        with db.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        assert version == "0001"
    finally:
        db.close()
    again = open_database(url)  # opening again migrates nothing and keeps the key
    try:
        assert again.hmac_key == db.hmac_key
    finally:
        again.close()


def test_postgresql_and_sqlite_hold_the_same_posture(
    fleet_dir: Path, tmp_path: Path, postgres_db: str
) -> None:
    on_sqlite = _run(fleet_dir, str(tmp_path / "f.sqlite"), LocalEngine(2))
    on_postgres = _run(fleet_dir, postgres_db, LocalEngine(2))
    assert _comparable(on_postgres) == _comparable(on_sqlite)
    assert len(on_postgres.shared) == 4
    second = _run(fleet_dir, postgres_db, LocalEngine(2))
    assert [i.latest_outcome for i in second.images].count("unchanged") == 4


def test_unreachable_postgresql_is_one_clear_error(postgres_url: str) -> None:
    dead = postgres_url.replace("vmguard@", "vmguard:s3cret-pw@").rsplit(":", 1)[0] + ":1/x"
    with pytest.raises(FleetDatabaseError) as err:
        open_database(dead)
    assert "s3cret-pw" not in err.value.diagnostics()
    assert "***" in err.value.diagnostics()


def test_dask_engine_gives_the_local_engine_results(
    fleet_dir: Path, tmp_path: Path, dask_scheduler: str
) -> None:
    local = _run(fleet_dir, str(tmp_path / "local.sqlite"), LocalEngine(2))
    distributed = _run(fleet_dir, str(tmp_path / "dask.sqlite"), DaskEngine(dask_scheduler))
    assert _comparable(distributed) == _comparable(local)
    broken = next(i for i in distributed.images if i.path.endswith("broken.qcow2"))
    assert broken.latest_outcome == "error" and broken.error
    assert distributed.latest_run is not None and distributed.latest_run["engine"] == "dask"


def test_no_scheduler_is_an_engine_error(fleet_dir: Path, tmp_path: Path) -> None:
    from fleet.conftest import free_port

    engine = DaskEngine(f"tcp://127.0.0.1:{free_port()}", connect_timeout=2)
    with pytest.raises(EngineError, match="cannot reach the Dask scheduler"):
        _run(fleet_dir, str(tmp_path / "f.sqlite"), engine)
