"""Alembic migrations of the fleet results database (run by ``fleet.database``)."""
