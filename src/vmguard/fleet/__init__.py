"""Fleets: scan an image catalogue on a local pool or a Dask cluster, remember it in a
database (SQLite, PostgreSQL), and see what no single-image scan can: secrets shared
between images.

Public API::

    collect_catalogue(sources) -> Catalogue             # directories, list files, libvirt
    open_database(url) -> FleetDatabase                 # migrated with Alembic
    scan_catalogue(catalogue, db, engine, options) -> RunSummary
    LocalEngine(workers) / DaskEngine("tcp://host:port")
    load_posture(db) -> FleetPosture                    # what ``fleet report`` renders

Nothing in this package prints: ``vmguard.report.formats`` chooses the writer of a posture
(``report.fleet_console``, ``fleet_json``, ``fleet_html``; SARIF and JUnit through
``report.fleet_reports``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vmguard.fleet.catalogue_scan import RunSummary, scan_catalogue
    from vmguard.fleet.correlation import SharedSecret
    from vmguard.fleet.database import FleetDatabase, open_database
    from vmguard.fleet.engine import ScanEngine
    from vmguard.fleet.engine_dask import DaskEngine
    from vmguard.fleet.engine_local import LocalEngine
    from vmguard.fleet.errors import EngineError, FleetDatabaseError, FleetError, SourceError
    from vmguard.fleet.posture import FleetPosture, load_posture
    from vmguard.fleet.sources import Catalogue, collect_catalogue

# Loaded on first use (PEP 562): SQLAlchemy, Alembic and Dask cost a quarter of a second
# at start-up, which every vmguard command would otherwise pay.
_HOMES = {
    "RunSummary": "catalogue_scan", "scan_catalogue": "catalogue_scan",
    "SharedSecret": "correlation", "FleetDatabase": "database", "open_database": "database",
    "ScanEngine": "engine", "DaskEngine": "engine_dask", "LocalEngine": "engine_local",
    "EngineError": "errors", "FleetDatabaseError": "errors", "FleetError": "errors",
    "SourceError": "errors", "FleetPosture": "posture", "load_posture": "posture",
    "Catalogue": "sources", "collect_catalogue": "sources",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'vmguard.fleet' has no attribute {name!r}")
    return getattr(importlib.import_module(f"vmguard.fleet.{home}"), name)


__all__ = [
    "Catalogue",
    "DaskEngine",
    "EngineError",
    "FleetDatabase",
    "FleetDatabaseError",
    "FleetError",
    "FleetPosture",
    "LocalEngine",
    "RunSummary",
    "ScanEngine",
    "SharedSecret",
    "SourceError",
    "collect_catalogue",
    "load_posture",
    "open_database",
    "scan_catalogue",
]
