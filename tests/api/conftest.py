"""The service under test, on SQLite and on a real PostgreSQL (a fresh schema per test)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid

import pytest
import sqlalchemy as sa
import uvicorn
from fastapi.testclient import TestClient

from caspr.api.app import Settings, create_app
from caspr.store import keys, make_engine, sessions, transaction, upgrade

POSTGRES = "postgresql+psycopg://root@127.0.0.1:5432/test"


def postgres_reachable() -> bool:
    try:
        with sa.create_engine(POSTGRES).connect() as connection:
            connection.execute(sa.text("select 1"))
    except Exception:
        return False
    return True


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """A database URL; PostgreSQL tests skip (visibly) when no server answers on 127.0.0.1:5432."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'caspr.sqlite'}"
        return
    if not postgres_reachable():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (CI starts it; see .ci/run)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def make_key(url: str, role: str, exchange: str | None = None, account: str | None = None) -> str:
    engine = make_engine(url)
    upgrade(engine)
    with transaction(sessions(engine)) as session:
        made = keys.grant(session, "test", role, exchange, account)
    engine.dispose()
    return made.key


def settings(root, **limits) -> Settings:
    """The service's settings for a test: ``root`` is the data root (``root/<exchange id>/...``)."""
    return Settings(data_root=root, **{"rate_per_minute": 100_000, "burst": 10_000, **limits})


@pytest.fixture
def service(database, tmp_path):
    """(TestClient, url) for the app on ``database``; snapshots go under ``tmp_path/<exchange id>/``."""
    app = create_app(database, settings(tmp_path))
    with TestClient(app) as client:
        yield client, database
    release(app)


@contextlib.contextmanager
def running(app):
    """``app`` served by a real uvicorn server on a free loopback port: its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        release(app)


@pytest.fixture
def live_server(database, tmp_path):
    """A real uvicorn server on a free loopback port, for concurrency tests."""
    with running(create_app(database, settings(tmp_path))) as base:
        yield base, database


def release(app) -> None:
    """Let background jobs finish, then close the app's connections (PostgreSQL's are shared)."""
    for worker in threading.enumerate():
        if worker.name.startswith("job-"):
            worker.join(timeout=30)
    app.state.engine.dispose()
