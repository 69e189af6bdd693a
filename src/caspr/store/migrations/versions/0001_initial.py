"""The initial schema: exchanges, snapshots, assessments, payouts, API keys, idempotency, audit log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from caspr.store.models import Money

revision = "0001"
down_revision = None

MONEY = Money()
"""NUMERIC(38, 18) on PostgreSQL, decimal text on SQLite (never a float)."""


def upgrade() -> None:
    """Create every table."""
    op.create_table(
        "exchanges",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("jurisdiction", sa.String(10), nullable=False),
        sa.Column("administered", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "exchange_id",
            sa.String(100),
            sa.ForeignKey("exchanges.id", name="fk_snapshots_exchange_id_exchanges"),
            nullable=False,
        ),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "snapshot_id",
            sa.Integer(),
            sa.ForeignKey("snapshots.id", name="fk_assessments_snapshot_id_snapshots"),
            nullable=False,
        ),
        sa.Column(
            "exchange_id",
            sa.String(100),
            sa.ForeignKey("exchanges.id", name="fk_assessments_exchange_id_exchanges"),
            nullable=False,
        ),
        sa.Column("regime", sa.String(50), nullable=False),
        sa.Column("requirement", MONEY, nullable=False),
        sa.Column("funding", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "payouts",
        sa.Column("payout_id", sa.String(64), primary_key=True),
        sa.Column(
            "exchange_id",
            sa.String(100),
            sa.ForeignKey("exchanges.id", name="fk_payouts_exchange_id_exchanges"),
            nullable=False,
        ),
        sa.Column("run_id", sa.String(100), nullable=False),
        sa.Column("account_id", sa.String(100), nullable=False),
        sa.Column("asset", sa.String(20), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("source", sa.String(50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_payouts_account_id", "payouts", ["account_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("exchange_id", sa.String(100), nullable=True),
        sa.Column("account_id", sa.String(100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "idempotency",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("principal", sa.String(64), nullable=False),
        sa.Column("route", sa.String(200), nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.UniqueConstraint("key", "principal", name="uq_idempotency_key"),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    """Drop every table."""
    for table in ("audit_log", "idempotency", "api_keys", "payouts", "assessments", "snapshots", "exchanges"):
        op.drop_table(table)
