"""The results database's tables (SQLAlchemy Core), as the Alembic migrations build them.

A *run* is one ``fleet scan``; it records one *scan* row per image. A scan row either holds
results (outcome ``scanned`` or ``rematched``: its inventory, findings, secret markers and
errors) or points at the scan whose results still hold (``unchanged``), through
``result_scan_id``; ``error`` rows hold the reason. ``images.current_scan_id`` is the scan
whose results describe the image now. Secret markers hold a keyed HMAC (key in
``fleet_meta``, random per database) of the secret's digest, never the secret, its plain
digest or a password hash. This module must never create tables itself: ``migrations/`` does,
and a test checks that the two agree.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

fleet_meta = Table(
    "fleet_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("engine", String(32), nullable=False),
    Column("sources", JSON, nullable=False),
    Column("tool_version", String(64), nullable=False),
    Column("rule_version", String(64), nullable=False),
    Column("vulns_version", String(64)),
    Column("counts", JSON),
)

images = Table(
    "images",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("path", Text, nullable=False, unique=True),
    Column("format", String(16)),
    Column("file_size", BigInteger),
    Column("virtual_size", BigInteger),
    Column("content_digest", String(96)),
    Column("files", JSON),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("modified_at", DateTime(timezone=True)),
    Column("current_scan_id", Integer),
)

scans = Table(
    "scans",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("image_id", Integer, ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("result_scan_id", Integer, ForeignKey("scans.id")),
    Column("tool_version", String(64), nullable=False),
    Column("rule_version", String(64), nullable=False),
    Column("vulns_version", String(64)),
    Column("content_digest", String(96)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("duration", Float, nullable=False),
    Column("error", Text),
    Index("ix_scans_run_image", "run_id", "image_id"),
    Index("ix_scans_image", "image_id"),
)

inventories = Table(
    "inventories",
    metadata,
    Column("scan_id", Integer, ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True),
    Column("os_distro", String(64)),
    Column("os_version", String(64)),
    Column("os_name", Text),
    Column("hostname", Text),
    Column("packages", Integer, nullable=False),
    Column("document", JSON, nullable=False),
)

findings = Table(
    "findings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scan_id", Integer, ForeignKey("scans.id", ondelete="CASCADE"), nullable=False),
    Column("rule_id", String(128), nullable=False),
    Column("title", Text, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("threat", String(32), nullable=False),
    Column("path", Text, nullable=False),
    Column("area", String(16), nullable=False),
    Column("line", Integer),
    Column("offset", BigInteger),
    Column("partition", Integer),
    Column("evidence", Text, nullable=False),
    Column("remediation", Text, nullable=False),
    Column("references", JSON, nullable=False),
    Column("subject", Text),
    Index("ix_findings_scan", "scan_id"),
)

secret_markers = Table(
    "secret_markers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scan_id", Integer, ForeignKey("scans.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("key_hmac", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("evidence", Text, nullable=False),
    Index("ix_secret_markers_key", "kind", "key_hmac"),
    Index("ix_secret_markers_scan", "scan_id"),
)

scan_errors = Table(
    "scan_errors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scan_id", Integer, ForeignKey("scans.id", ondelete="CASCADE"), nullable=False),
    Column("path", Text, nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_scan_errors_scan", "scan_id"),
)
