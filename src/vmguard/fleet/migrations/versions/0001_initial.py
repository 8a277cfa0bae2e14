"""The fleet results database: runs, images, scans, inventories, findings, secret markers.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create every table."""
    op.create_table(
        "fleet_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS),
        sa.Column("engine", sa.String(32), nullable=False),
        sa.Column("sources", sa.JSON, nullable=False),
        sa.Column("tool_version", sa.String(64), nullable=False),
        sa.Column("rule_version", sa.String(64), nullable=False),
        sa.Column("vulns_version", sa.String(64)),
        sa.Column("counts", sa.JSON),
    )
    op.create_table(
        "images",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("path", sa.Text, nullable=False, unique=True),
        sa.Column("format", sa.String(16)),
        sa.Column("file_size", sa.BigInteger),
        sa.Column("virtual_size", sa.BigInteger),
        sa.Column("content_digest", sa.String(96)),
        sa.Column("files", sa.JSON),
        sa.Column("first_seen", _TS, nullable=False),
        sa.Column("last_seen", _TS, nullable=False),
        sa.Column("modified_at", _TS),
        sa.Column("current_scan_id", sa.Integer),
    )
    op.create_table(
        "scans",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "image_id", sa.Integer, sa.ForeignKey("images.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("result_scan_id", sa.Integer, sa.ForeignKey("scans.id")),
        sa.Column("tool_version", sa.String(64), nullable=False),
        sa.Column("rule_version", sa.String(64), nullable=False),
        sa.Column("vulns_version", sa.String(64)),
        sa.Column("content_digest", sa.String(96)),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_scans_run_image", "scans", ["run_id", "image_id"])
    op.create_index("ix_scans_image", "scans", ["image_id"])
    op.create_table(
        "inventories",
        sa.Column(
            "scan_id",
            sa.Integer,
            sa.ForeignKey("scans.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("os_distro", sa.String(64)),
        sa.Column("os_version", sa.String(64)),
        sa.Column("os_name", sa.Text),
        sa.Column("hostname", sa.Text),
        sa.Column("packages", sa.Integer, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
    )
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "scan_id", sa.Integer, sa.ForeignKey("scans.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("rule_id", sa.String(128), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("threat", sa.String(32), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("area", sa.String(16), nullable=False),
        sa.Column("line", sa.Integer),
        sa.Column("offset", sa.BigInteger),
        sa.Column("partition", sa.Integer),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("remediation", sa.Text, nullable=False),
        sa.Column("references", sa.JSON, nullable=False),
        sa.Column("subject", sa.Text),
    )
    op.create_index("ix_findings_scan", "findings", ["scan_id"])
    op.create_table(
        "secret_markers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "scan_id", sa.Integer, sa.ForeignKey("scans.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key_hmac", sa.String(64), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
    )
    op.create_index("ix_secret_markers_key", "secret_markers", ["kind", "key_hmac"])
    op.create_index("ix_secret_markers_scan", "secret_markers", ["scan_id"])
    op.create_table(
        "scan_errors",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "scan_id", sa.Integer, sa.ForeignKey("scans.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("ix_scan_errors_scan", "scan_errors", ["scan_id"])


def downgrade() -> None:
    """Drop every table."""
    for table in (
        "scan_errors",
        "secret_markers",
        "findings",
        "inventories",
        "scans",
        "images",
        "runs",
        "fleet_meta",
    ):
        op.drop_table(table)
