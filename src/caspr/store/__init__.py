"""Store access: the database URL, migrations, the audit chain, idempotent writes.

The URL comes from ``--db``, else ``CASPR_DATABASE_URL``, else an SQLite file
``caspr.sqlite`` in the working folder. Schema changes are Alembic migrations
(``caspr db upgrade``); the service upgrades on start.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.orm import Session, sessionmaker

from caspr.store.models import AuditEntry, utcnow

GENESIS = "0" * 64


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, ``CASPR_DATABASE_URL``, or ``sqlite:///caspr.sqlite``."""
    return url or os.environ.get("CASPR_DATABASE_URL") or "sqlite:///caspr.sqlite"


def make_engine(url: str | None = None) -> Engine:
    """An engine; SQLite gets WAL, a busy timeout and foreign keys."""
    resolved = database_url(url)
    if resolved.startswith("sqlite"):
        engine = create_engine(resolved, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            connection.isolation_level = None  # let the "begin" hook below issue BEGIN
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            # take the write lock up front: concurrent writers queue instead of failing on upgrade
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(resolved, pool_pre_ping=True, pool_size=10, max_overflow=20)


POSTGRES_BIND_LIMIT = 65535
"""PostgreSQL's wire protocol counts bind parameters in 16 bits."""


def max_bind_parameters(bind: Any) -> int:
    """How many bind parameters one statement may carry on this database.

    SQLite's limit is set when it is compiled (999 before 3.32, 32766 after, sometimes
    more); it is read from the connection. PostgreSQL's is 65535.
    """
    if bind.dialect.name != "sqlite":
        return POSTGRES_BIND_LIMIT
    with bind.connect() if isinstance(bind, Engine) else nullcontext(bind) as connection:
        raw: Any = connection.connection.dbapi_connection
        return int(raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))


def upgrade(engine: Engine) -> None:
    """Run the Alembic migrations up to head."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def sessions(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine``."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def payload_hash(payload: Any) -> str:
    """SHA-256 of the canonical JSON of ``payload``."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _entry_hash(
    seq: int, at: dt.datetime, actor: str, action: str, key: str | None, digest: str, previous: str
) -> str:
    at_utc = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    body = [seq, at_utc.astimezone(dt.UTC).isoformat(), actor, action, key, digest, previous]
    return hashlib.sha256(json.dumps(body, separators=(",", ":")).encode()).hexdigest()


def audit(
    session: Session, actor: str, action: str, payload: Any, idempotency_key: str | None = None
) -> AuditEntry:
    """Append an entry chained to the last one (in the caller's transaction).

    On PostgreSQL the table is locked for the append so concurrent writers queue; SQLite
    serialises writers itself.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE audit_log IN EXCLUSIVE MODE"))
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq = last.seq + 1 if last else 1
    previous = last.entry_hash if last else GENESIS
    at = utcnow()
    digest = payload_hash(payload)
    entry = AuditEntry(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        idempotency_key=idempotency_key,
        payload_hash=digest,
        prev_hash=previous,
        entry_hash=_entry_hash(seq, at, actor, action, idempotency_key, digest, previous),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True, slots=True)
class AuditVerdict:
    """Whether the chain is intact, how many entries, and the first bad one."""

    valid: bool
    entries: int
    first_bad: int | None
    reason: str | None


def verify_audit(session: Session) -> AuditVerdict:
    """Recompute the chain: any altered, removed or reordered entry is named (the first one)."""
    previous, expected_seq, count = GENESIS, 1, 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)):
        count += 1
        if entry.seq != expected_seq:
            return AuditVerdict(
                False, count, expected_seq, f"entry {expected_seq} is missing (next is {entry.seq})"
            )
        if entry.prev_hash != previous:
            return AuditVerdict(
                False, count, entry.seq, "does not follow the entry before it (removed or reordered)"
            )
        recomputed = _entry_hash(
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.idempotency_key,
            entry.payload_hash,
            entry.prev_hash,
        )
        if recomputed != entry.entry_hash:
            return AuditVerdict(False, count, entry.seq, "its content was altered")
        previous, expected_seq = entry.entry_hash, expected_seq + 1
    return AuditVerdict(True, count, None, None)
