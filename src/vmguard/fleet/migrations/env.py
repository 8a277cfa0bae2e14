"""Alembic environment: migrations run on the connection ``fleet.database`` hands over.

Never reads alembic.ini or a URL from the environment: the caller's connection is the only
database this touches.
"""

from __future__ import annotations

from alembic import context

from vmguard.fleet.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
