"""Fleets: scan an image catalogue on a local pool or a Dask cluster, remember it in a
database (SQLite, PostgreSQL), and see what no single-image scan can: secrets shared
between images.

Public API::

    collect_catalogue(sources) -> Catalogue             # directories, list files, libvirt
    open_database(url) -> FleetDatabase                 # migrated with Alembic
    scan_catalogue(catalogue, db, engine, options) -> RunSummary
    LocalEngine(workers) / DaskEngine("tcp://host:port")
    load_posture(db) -> FleetPosture                    # what ``fleet report`` renders

Nothing in this package prints; ``vmguard.cli.fleet_cmd`` renders.
"""

from vmguard.fleet.catalogue_scan import RunSummary, scan_catalogue
from vmguard.fleet.correlation import SharedSecret
from vmguard.fleet.database import FleetDatabase, open_database
from vmguard.fleet.engine import ScanEngine
from vmguard.fleet.engine_dask import DaskEngine
from vmguard.fleet.engine_local import LocalEngine
from vmguard.fleet.errors import EngineError, FleetDatabaseError, FleetError, SourceError
from vmguard.fleet.posture import FleetPosture, load_posture
from vmguard.fleet.sources import Catalogue, collect_catalogue

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
