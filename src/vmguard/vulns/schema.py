"""The advisory index's SQLite schema and its migrations.

The schema version is SQLite's ``user_version``; migration N (1-based) brings it from N-1
to N inside one transaction. An index whose version is newer than this vmguard knows is
refused, never downgraded or guessed at.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from vmguard.vulns.errors import AdvisoryIndexError

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE advisories (
        id TEXT PRIMARY KEY, modified TEXT NOT NULL, published TEXT NOT NULL,
        summary TEXT NOT NULL, aliases TEXT NOT NULL, severity TEXT, score REAL,
        vector TEXT, refs TEXT NOT NULL, digest TEXT NOT NULL, imported_at TEXT NOT NULL
    );
    CREATE TABLE affected (
        advisory_id TEXT NOT NULL REFERENCES advisories(id) ON DELETE CASCADE,
        ecosystem TEXT NOT NULL, distribution TEXT NOT NULL, release TEXT NOT NULL,
        package TEXT NOT NULL, ranges TEXT NOT NULL, versions TEXT NOT NULL
    );
    CREATE INDEX affected_lookup ON affected(distribution, release, package);
    CREATE INDEX affected_advisory ON affected(advisory_id);
    CREATE TABLE imports (
        id INTEGER PRIMARY KEY, source TEXT NOT NULL, sha256 TEXT NOT NULL,
        finished_at TEXT NOT NULL, added INTEGER NOT NULL, updated INTEGER NOT NULL,
        unchanged INTEGER NOT NULL, older INTEGER NOT NULL, skipped INTEGER NOT NULL
    );
    """,
    # 2: application ecosystems. Their names are now kept folded (PyPI, NuGet, Packagist)
    # and their SEMVER ranges kept; forgetting the digests makes the next import of the same
    # archives store those records again instead of counting them unchanged.
    """
    UPDATE advisories SET digest = '' WHERE id IN (
        SELECT advisory_id FROM affected WHERE distribution IN
        ('PyPI', 'npm', 'Maven', 'Go', 'crates.io', 'RubyGems', 'Packagist', 'NuGet')
    );
    """,
)
"""Schema migrations; migration N (1-based) brings ``user_version`` from N-1 to N."""

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Apply the migrations the index at ``path`` lacks."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise AdvisoryIndexError(
            f"{path}: index schema {version} is newer than this vmguard's ({SCHEMA_VERSION})"
        )
    for number in range(version, SCHEMA_VERSION):
        # One transaction per migration: the version moves only with its tables.
        db.executescript(
            f"BEGIN; {MIGRATIONS[number]}; PRAGMA user_version = {number + 1}; COMMIT;"
        )
