"""Open the fleet results database: resolve its URL, run the migrations, load its HMAC key.

``--db`` takes a path or ``sqlite:///`` URL (the default is ``$VMGUARD_FLEET_DB``, else
``$XDG_DATA_HOME/vmguard/fleet.sqlite``) or a ``postgresql://`` URL (driven by psycopg 3).
The schema is built and upgraded only by the Alembic migrations in ``migrations/``. This
module must never print or put into an error message a database password, and never create
tables with ad-hoc DDL.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, insert, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from vmguard.fleet.defaults import ENV_VAR
from vmguard.fleet.errors import FleetDatabaseError
from vmguard.fleet.schema import fleet_meta

DEFAULT_NAME = "fleet.sqlite"
_KEY = "correlation_hmac_key"


def default_location() -> Path:
    """``$XDG_DATA_HOME/vmguard/fleet.sqlite`` (``~/.local/share`` when XDG is unset)."""
    base = os.environ.get("XDG_DATA_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "vmguard" / DEFAULT_NAME


def resolve_url(value: str | None) -> URL:
    """The SQLAlchemy URL for ``--db`` (path, sqlite:/// or postgresql:// URL)."""
    text = value or os.environ.get(ENV_VAR) or str(default_location())
    if "://" not in text:
        path = Path(text).expanduser().absolute()
        return URL.create("sqlite", database=str(path))
    try:
        url = make_url(text)
    except ArgumentError as err:
        raise FleetDatabaseError(f"--db: not a database URL: {err}") from err
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database:
            raise FleetDatabaseError("--db: give an SQLite file, as sqlite:///path/to/fleet.sqlite")
        return url
    if backend == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    raise FleetDatabaseError(
        f"--db: unsupported database {backend!r}: use a path, sqlite:/// or postgresql:// URL"
    )


def shown(url: URL) -> str:
    """The URL as it may be printed: password hidden."""
    return url.render_as_string(hide_password=True)


def _cause(err: Exception) -> str:
    orig = getattr(err, "orig", None)
    text = str(orig if orig is not None else err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()


@dataclass(frozen=True, slots=True)
class FleetDatabase:
    """An open, migrated results database."""

    engine: Engine
    url: URL
    hmac_key: bytes
    """Random per database; secret markers are HMAC-SHA256(key, secret digest)."""

    def key_hmac(self, digest: str) -> str:
        """The stored form of a secret marker digest."""
        return hmac.new(self.hmac_key, digest.encode(), "sha256").hexdigest()

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def open_database(value: str | None, *, existing: bool = False) -> FleetDatabase:
    """Open (creating and migrating as needed) the database ``--db`` names; with
    ``existing``, a SQLite database that is not there yet is an error, not created."""
    url = resolve_url(value)
    if existing and url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        raise FleetDatabaseError(
            f"{url.database}: no fleet database here yet; run `vmguard fleet scan` first"
        )
    try:
        if url.get_backend_name() == "sqlite" and url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_pre_ping=True)
    except NoSuchModuleError as err:
        raise FleetDatabaseError(
            f"{shown(url)}: the database driver is not installed (pip install vmguard[postgres])"
        ) from err
    except (OSError, SQLAlchemyError) as err:
        raise FleetDatabaseError(f"{shown(url)}: cannot open: {_cause(err)}") from err
    if url.get_backend_name() == "sqlite":
        _sqlite_pragmas(engine)
    try:
        migrate(engine)
        with engine.begin() as conn:
            stored = conn.execute(select(fleet_meta.c.value).where(fleet_meta.c.key == _KEY))
            value_hex = stored.scalar_one_or_none()
            if value_hex is None:
                value_hex = secrets.token_hex(32)
                conn.execute(insert(fleet_meta).values(key=_KEY, value=value_hex))
    except (SQLAlchemyError, OSError) as err:
        engine.dispose()
        raise FleetDatabaseError(f"{shown(url)}: {_cause(err)}") from err
    return FleetDatabase(engine, url, bytes.fromhex(value_hex))
