"""The caspr service: a REST API under ``/api/v1`` (FastAPI), thin over the library.

* ``GET /api/v1/health`` and the OpenAPI document need no credentials; everything else
  needs ``Authorization: Bearer <key>``, checked before the body is read
  (:mod:`caspr.api.guard`: body size limits, per-key rate limit, lockout after bad keys).
* Roles (:mod:`caspr.api.access`): ``exchange`` (its own data), ``regulator`` (read
  everything, run calibrations), ``administrator`` (the exchange under its
  administration), ``customer`` (its own payouts only: anything else is 404, never 403).
* Every POST takes an ``Idempotency-Key``, enforced by the database in the work's own
  transaction (:mod:`caspr.api.idempotency`).
* Errors are RFC 9457 ``application/problem+json`` with the request id, never a stack
  trace (:mod:`caspr.api.problems`); logs are JSON lines (:mod:`caspr.api.logs`).
* Every state change appends to the audit chain in the same transaction.
* Routes, one module per resource: :mod:`caspr.api.routes`; the web dashboard's pages:
  :mod:`caspr.web` (its guard is this Guard, admitting pages by session).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from caspr import web
from caspr.api import jobs, logs, problems
from caspr.api.guard import Principal, Settings
from caspr.api.problems import ProblemError
from caspr.api.routes import payouts, reads, runs, snapshots
from caspr.store import make_engine, sessions, upgrade
from caspr.store.keys import ROLES, hash_key

__all__ = ["ROLES", "Principal", "ProblemError", "Settings", "create_app", "hash_key", "settings_from_env"]


def settings_from_env() -> Settings:
    """Settings from ``CASPR_DATA_ROOT``, ``CASPR_MAX_BODY``, ``CASPR_RATE_PER_MINUTE``."""
    root = os.environ.get("CASPR_DATA_ROOT")
    defaults = Settings()
    return Settings(
        data_root=Path(root).resolve() if root else None,
        max_body=int(os.environ.get("CASPR_MAX_BODY", defaults.max_body)),
        rate_per_minute=int(os.environ.get("CASPR_RATE_PER_MINUTE", defaults.rate_per_minute)),
    )


def create_app(url: str | None = None, settings: Settings | None = None) -> FastAPI:
    """The application, bound to the database at ``url`` (migrated on creation)."""
    logs.configure()
    settings = settings or settings_from_env()
    if settings.data_root is not None:
        settings = dataclasses.replace(settings, data_root=settings.data_root.resolve())
    engine = make_engine(url)
    upgrade(engine)
    factory: sessionmaker[Session] = sessions(engine)
    app = FastAPI(
        title="caspr",
        version="1",
        description="Customer-asset protection for crypto-asset exchanges",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI loads its script from a CDN; view openapi.json with a local tool
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.factory = factory
    app.state.settings = settings
    problems.install(app)
    for module in (reads, snapshots, payouts, runs):
        app.include_router(module.router)
    web_sessions = web.mount(app)  # the dashboard's pages (caspr.web), behind the same Guard
    app.add_middleware(web.WebGuard, factory=factory, settings=settings, sessions=web_sessions)
    jobs.resume(factory)
    return app
