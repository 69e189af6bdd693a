"""The persistent store (SQLAlchemy 2): SQLite by default, PostgreSQL in production.

Money columns are exact: ``NUMERIC(38, 18)`` (never float). Component trees and findings
are stored as the same JSON the CLI prints. Snapshot data itself stays in its files; the
store keeps their path and content hash.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Money(TypeDecorator[Decimal]):
    """An exact amount: NUMERIC(38, 18) on PostgreSQL; decimal text on SQLite.

    SQLite has no decimal type (a NUMERIC column would store binary floats), so there the
    canonical decimal string is stored in a TEXT column and read back as a Decimal.
    Arithmetic on money is done in Python, never by SQLite.
    """

    impl = Numeric(38, 18, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        """TEXT on SQLite, NUMERIC(38, 18) elsewhere."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(60))
        return dialect.type_descriptor(Numeric(38, 18, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> Any:
        """Decimal in; decimal text for SQLite."""
        if value is None:
            return None
        if not isinstance(value, Decimal):
            msg = f"money must be a Decimal, got {type(value).__name__}"
            raise TypeError(msg)
        return f"{value:f}" if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        """Always a Decimal out."""
        if value is None:
            return None
        return Decimal(value) if isinstance(value, str) else value


MONEY = Money()

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a stable naming convention (so migrations are reproducible)."""

    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> dt.datetime:
    """Now, in UTC."""
    return dt.datetime.now(tz=dt.UTC)


class Exchange(Base):
    """An exchange known to the service."""

    __tablename__ = "exchanges"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    jurisdiction: Mapped[str] = mapped_column(String(10))
    administered: Mapped[bool] = mapped_column(default=False)


class Snapshot(Base):
    """A registered snapshot folder (the data stays in its files)."""

    __tablename__ = "snapshots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.id"))
    path: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Assessment(Base):
    """One regime's assessment of one snapshot, with its full component tree."""

    __tablename__ = "assessments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"))
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.id"))
    regime: Mapped[str] = mapped_column(String(50))
    requirement: Mapped[Decimal] = mapped_column(MONEY)
    funding: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    document: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Payout(Base):
    """A recorded payout; the id is deterministic, so it is recorded once."""

    __tablename__ = "payouts"
    payout_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.id"))
    run_id: Mapped[str] = mapped_column(String(100))
    account_id: Mapped[str] = mapped_column(String(100), index=True)
    asset: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    source: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    """The ``state.payouts`` audit entry that covers this row."""


class ApiKey(Base):
    """An API key, stored as its SHA-256 (the key itself is shown once, at creation)."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    exchange_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    account_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The ``state.key`` audit entry that covers this row's current state."""


class IdempotencyRecord(Base):
    """The first response to a POST with a given Idempotency-Key (replayed on repeats)."""

    __tablename__ = "idempotency"
    __table_args__ = (UniqueConstraint("key", "principal"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200))
    principal: Mapped[str] = mapped_column(String(64))
    route: Mapped[str] = mapped_column(String(200))
    body_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, object]] = mapped_column(JSON)


class AuditEntry(Base):
    """One state change, chained by hash to the one before (tamper-evident)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    payload_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    scheme: Mapped[str | None] = mapped_column(String(20), nullable=True)
    """``hmac-sha256`` (keyed) or ``sha256``; none for entries written before migration 0004."""
    state_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """For ``state.*`` entries: the digest of the rows the entry covers."""


class Job(Base):
    """A long run (a distribution) with its progress; resumed on restart until done."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(50))
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.id"))
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"))
    run_id: Mapped[str] = mapped_column(String(100))
    parameters: Mapped[dict[str, object]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))  # running | done | failed
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
