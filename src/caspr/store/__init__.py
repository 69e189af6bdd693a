"""Store access: the database URL, migrations, the audit chain, idempotent writes.

The URL comes from ``--db``, else ``CASPR_DATABASE_URL``, else an SQLite file
``caspr.sqlite`` in the working folder. Schema changes are Alembic migrations
(``caspr db upgrade``); the service upgrades on start.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from caspr.store.audit import GENESIS, AuditVerdict, Checkpoint, audit, checkpoint, payload_hash, verify_audit

__all__ = [
    "GENESIS",
    "AuditVerdict",
    "Checkpoint",
    "audit",
    "checkpoint",
    "database_url",
    "make_engine",
    "max_bind_parameters",
    "payload_hash",
    "sessions",
    "transaction",
    "upgrade",
    "verify_audit",
]


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
