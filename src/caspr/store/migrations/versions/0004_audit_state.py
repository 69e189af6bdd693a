"""Audit: keyed entries, state digests, and the rows' links to the entries that cover them.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    """Add audit_log.scheme and state_hash, payouts.audit_seq (indexed) and api_keys.audit_seq."""
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("scheme", sa.String(20), nullable=True))
        batch.add_column(sa.Column("state_hash", sa.String(64), nullable=True))
    with op.batch_alter_table("payouts") as batch:
        batch.add_column(sa.Column("audit_seq", sa.Integer(), nullable=True))
    op.create_index("ix_payouts_audit_seq", "payouts", ["audit_seq"])
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("audit_seq", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Drop the added columns."""
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("audit_seq")
    op.drop_index("ix_payouts_audit_seq", "payouts")
    with op.batch_alter_table("payouts") as batch:
        batch.drop_column("audit_seq")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("state_hash")
        batch.drop_column("scheme")
