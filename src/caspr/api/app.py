"""The caspr service: a REST API under ``/api/v1`` (FastAPI), thin over the library.

* ``GET /api/v1/health`` needs no credentials; everything else needs ``Authorization:
  Bearer <key>`` (keys from ``caspr keys create``, stored hashed).
* Roles: ``exchange`` (its own data), ``regulator`` (read everything, run calibrations),
  ``administrator`` (the exchange under its administration), ``customer`` (its own payouts
  only: anything else is 404, never 403, so existence does not leak).
* Every POST takes an ``Idempotency-Key``: a replay returns the first response; the same
  key with a different body is a 409.
* Errors are RFC 9457 ``application/problem+json``, never a stack trace.
* Every state change appends to the hash-chained audit log in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from caspr import payouts
from caspr.api import jobs
from caspr.assess import assess
from caspr.errors import CasprError, InputError
from caspr.snapshot.loader import load_snapshot
from caspr.store import audit, make_engine, payload_hash, sessions, transaction, upgrade
from caspr.store import models as m

ROLES = ("exchange", "regulator", "administrator", "customer")
PROBLEM = "application/problem+json"


class ProblemError(Exception):
    """An RFC 9457 problem to return."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


def problem(status: int, title: str, detail: str) -> JSONResponse:
    """A problem+json response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, from their API key."""

    key_hash: str
    role: str
    exchange_id: str | None
    account_id: str | None


def hash_key(key: str) -> str:
    """How keys are stored: SHA-256 hex."""
    return hashlib.sha256(key.encode()).hexdigest()


class SnapshotIn(BaseModel):
    """Register a snapshot folder already on the server's disk."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1)


class PayoutIn(BaseModel):
    """A payout to record (the id is derived: exchange, snapshot, run, account, asset, source)."""

    model_config = ConfigDict(extra="forbid")
    exchange_id: str = Field(min_length=1, max_length=100)
    run_id: str = Field(min_length=1, max_length=100)
    account_id: str = Field(min_length=1, max_length=100)
    asset: str = Field(min_length=1, max_length=20)
    amount: str = Field(pattern=r"^(0|[1-9][0-9]{0,19})(\.[0-9]{1,18})?$")
    source: str = Field(default="direct", max_length=50)
    snapshot_id: int | None = Field(default=None, ge=1, le=2**62)
    """The snapshot the payout was computed from (part of its id); none for a manual payout."""


class DistributionIn(BaseModel):
    """Start a distribution job (in kind, Japan's defaults unless a plan is given)."""

    model_config = ConfigDict(extra="forbid")
    plan: dict[str, Any] = Field(default_factory=dict)
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    throttle_ms: int = Field(default=0, ge=0, le=10_000)
    """Pause between batches, to spare a production database."""


class IncidentIn(BaseModel):
    """Record an incident: the incident file's content (see docs/compensation.md)."""

    model_config = ConfigDict(extra="forbid")
    incident: dict[str, Any]
    batch_size: int = Field(default=1000, ge=1, le=100_000)


class CalibrationIn(BaseModel):
    """Calibrate the proposed Japanese reserve to a coverage target."""

    model_config = ConfigDict(extra="forbid")
    coverage: str = Field(pattern=r"^0(\.[0-9]{1,6})?$|^1$")
    by: str = Field(default="value", pattern="^(value|count)$")


def _payout_json(p: m.Payout) -> dict[str, Any]:
    return {
        "payout_id": p.payout_id,
        "exchange_id": p.exchange_id,
        "run_id": p.run_id,
        "account_id": p.account_id,
        "asset": p.asset,
        "amount": f"{p.amount.normalize():f}" if p.amount else "0",
        "source": p.source,
    }


def principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    """The caller, from ``Authorization: Bearer <key>`` (401 without a known key)."""
    if not authorization or not authorization.startswith("Bearer "):
        raise ProblemError(401, "Unauthorized", "send Authorization: Bearer <key>")
    digest = hash_key(authorization.removeprefix("Bearer ").strip())
    factory: sessionmaker[Session] = request.app.state.factory
    with factory() as session:
        key = session.scalars(select(m.ApiKey).where(m.ApiKey.key_hash == digest)).first()
    if key is None:
        raise ProblemError(401, "Unauthorized", "unknown API key")
    return Principal(digest, key.role, key.exchange_id, key.account_id)


Caller = Annotated[Principal, Depends(principal)]
RowId = Annotated[int, PathParam(ge=1, le=2**62)]
"""A database row id: bounded so no path can overflow a 64-bit column."""


def create_app(url: str | None = None) -> FastAPI:  # noqa: PLR0915 - the routes are the app
    """The application, bound to the database at ``url`` (migrated on creation)."""
    engine = make_engine(url)
    upgrade(engine)
    factory: sessionmaker[Session] = sessions(engine)
    app = FastAPI(
        title="caspr",
        version="1",
        description="Customer-asset protection for crypto-asset exchanges",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.factory = factory
    jobs.resume(factory)

    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, "HTTP error", str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        return problem(422, "Invalid request", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return problem(500, "Internal error", type(exc).__name__)

    def idempotent(
        request: Request,
        who: Principal,
        key: str | None,
        body: Any,
        work: Callable[[Session], tuple[int, dict[str, Any]]],
    ) -> JSONResponse:
        """Run ``work`` once per (key, caller); replay its response; 409 on a different body."""
        if not key:
            raise ProblemError(400, "Idempotency-Key required", "every POST needs an Idempotency-Key header")
        digest = payload_hash(body)
        route = request.url.path
        with factory() as session:
            seen = session.scalars(
                select(m.IdempotencyRecord).where(
                    m.IdempotencyRecord.key == key, m.IdempotencyRecord.principal == who.key_hash
                )
            ).first()
        if seen is not None:
            if seen.body_hash != digest or seen.route != route:
                raise ProblemError(409, "Conflict", "this Idempotency-Key was used with a different request")
            return JSONResponse(seen.response, status_code=seen.status)
        with transaction(factory) as session:
            status, response = work(session)
            audit(session, f"{who.role}:{who.exchange_id or ''}:{who.account_id or ''}", route, body, key)
        try:
            with transaction(factory) as session:
                session.add(
                    m.IdempotencyRecord(
                        key=key,
                        principal=who.key_hash,
                        route=route,
                        body_hash=digest,
                        status=status,
                        response=response,
                    )
                )
        except IntegrityError:
            pass  # a concurrent request with the same key stored the same response first
        return JSONResponse(response, status_code=status)

    def may_write(who: Principal, exchange_id: str) -> None:
        if who.role in ("exchange", "administrator") and who.exchange_id == exchange_id:
            return
        raise ProblemError(403, "Forbidden", f"a {who.role} key may not write for exchange {exchange_id}")

    def may_read_exchange(who: Principal, exchange_id: str) -> None:
        if who.role == "regulator" or (
            who.role in ("exchange", "administrator") and who.exchange_id == exchange_id
        ):
            return
        raise ProblemError(404, "Not found", f"no exchange {exchange_id}")

    def writable_snapshot(snapshot_id: int, who: Principal) -> m.Snapshot:
        """The snapshot, if the caller may act on its exchange (404 unseen, 403 read-only)."""
        with factory() as session:
            row = session.get(m.Snapshot, snapshot_id)
        if row is None:
            raise ProblemError(404, "Not found", f"no snapshot {snapshot_id}")
        may_read_exchange(who, row.exchange_id)
        may_write(who, row.exchange_id)
        return row

    def start_job(
        request: Request,
        who: Caller,
        key: str | None,
        body: dict[str, Any],
        row: m.Snapshot,
        kind: str,
        run_id: str,
    ) -> JSONResponse:
        """Create a job (once per Idempotency-Key) and run it in the background."""
        started: list[int] = []

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            job = m.Job(
                kind=kind,
                exchange_id=row.exchange_id,
                snapshot_id=row.id,
                run_id=run_id,
                parameters=body,
                status="running",
                done=0,
                total=0,
            )
            session.add(job)
            session.flush()
            started.append(job.id)
            return 202, {"job_id": job.id, "run_id": run_id, "status": "running"}

        response = idempotent(request, who, key, body, work)
        for job_id in started:
            jobs.start(factory, job_id)
        return response

    @app.get("/api/v1/health")
    def health() -> dict[str, str]:
        """Liveness: no credentials needed."""
        return {"status": "ok"}

    @app.post("/api/v1/snapshots", status_code=201)
    def register_snapshot(
        request: Request,
        body: SnapshotIn,
        who: Caller,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        """Register a snapshot folder on the server (validated first; nothing stored if invalid)."""
        folder = Path(body.path)
        try:
            digest = payouts.snapshot_digest(folder)
            snapshot = load_snapshot(folder)
        except InputError as error:
            raise ProblemError(
                422, "Invalid snapshot", "; ".join(str(p) for p in error.problems[:5])
            ) from error
        may_write(who, snapshot.exchange.id)

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            if session.get(m.Exchange, snapshot.exchange.id) is None:
                session.add(
                    m.Exchange(
                        id=snapshot.exchange.id,
                        name=snapshot.exchange.name,
                        jurisdiction=snapshot.exchange.jurisdiction.value,
                        administered=who.role == "administrator",
                    )
                )
                session.flush()
            row = m.Snapshot(
                exchange_id=snapshot.exchange.id,
                path=str(folder.resolve()),
                content_hash=digest,
                as_of=snapshot.exchange.as_of,
            )
            session.add(row)
            session.flush()
            return 201, {
                "id": row.id,
                "exchange_id": row.exchange_id,
                "content_hash": row.content_hash,
                "as_of": snapshot.exchange.as_of.isoformat(),
            }

        return idempotent(request, who, idempotency_key, body.model_dump(), work)

    @app.post("/api/v1/snapshots/{snapshot_id}/assessments", status_code=201)
    def run_assessment(
        request: Request,
        snapshot_id: RowId,
        who: Caller,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        """Assess a registered snapshot under the regimes of its jurisdiction; store every component."""
        row = writable_snapshot(snapshot_id, who)
        snapshot = load_snapshot(Path(row.path))

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            report = assess(snapshot)
            out = []
            for a in report.assessments:
                stored = m.Assessment(
                    snapshot_id=snapshot_id,
                    exchange_id=row.exchange_id,
                    regime=a.regime,
                    requirement=a.requirement.amount,
                    funding=a.funding.amount,
                    currency=a.currency,
                    document=a.to_dict(),
                )
                session.add(stored)
                session.flush()
                out.append({"id": stored.id, **a.to_dict()})
            return 201, {"snapshot_id": snapshot_id, "assessments": out}

        return idempotent(request, who, idempotency_key, {"snapshot_id": snapshot_id}, work)

    @app.get("/api/v1/assessments/{assessment_id}")
    def get_assessment(assessment_id: RowId, who: Caller) -> dict[str, Any]:
        """One stored assessment with its full component tree."""
        with factory() as session:
            row = session.get(m.Assessment, assessment_id)
        if row is None or who.role == "customer":
            raise ProblemError(404, "Not found", f"no assessment {assessment_id}")
        may_read_exchange(who, row.exchange_id)
        return {"id": row.id, "snapshot_id": row.snapshot_id, "exchange_id": row.exchange_id, **row.document}

    @app.get("/api/v1/exchanges/{exchange_id}/assessments")
    def list_assessments(exchange_id: str, who: Caller) -> list[dict[str, Any]]:
        """An exchange's assessments, newest first."""
        if who.role == "customer":
            raise ProblemError(404, "Not found", f"no exchange {exchange_id}")
        may_read_exchange(who, exchange_id)
        with factory() as session:
            rows = session.scalars(
                select(m.Assessment)
                .where(m.Assessment.exchange_id == exchange_id)
                .order_by(m.Assessment.id.desc())
            ).all()
        return [
            {
                "id": r.id,
                "regime": r.regime,
                "requirement": f"{r.requirement.normalize():f}",
                "funding": f"{r.funding.normalize():f}",
                "currency": r.currency,
            }
            for r in rows
        ]

    @app.post("/api/v1/payouts", status_code=201)
    def record_payout(
        request: Request, body: PayoutIn, who: Caller, idempotency_key: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        """Record a payout exactly once: same payout again is a no-op, a different body under its id a 409."""
        may_write(who, body.exchange_id)
        try:
            amount = Decimal(body.amount)
        except InvalidOperation as exc:
            raise ProblemError(422, "Invalid amount", body.amount) from exc
        snapshot_digest = ""
        if body.snapshot_id is not None:
            with factory() as session:
                snap = session.get(m.Snapshot, body.snapshot_id)
            if snap is None or snap.exchange_id != body.exchange_id:
                raise ProblemError(404, "Not found", f"no snapshot {body.snapshot_id}")
            snapshot_digest = snap.content_hash
        scope = payouts.Scope(body.exchange_id, snapshot_digest, body.run_id)
        payout_id = payouts.payout_id(scope, body.account_id, body.asset, "direct", body.source)

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            if session.get(m.Exchange, body.exchange_id) is None:
                raise ProblemError(404, "Not found", f"no exchange {body.exchange_id}")
            existing = session.get(m.Payout, payout_id)
            if existing is None:
                session.add(
                    m.Payout(
                        payout_id=payout_id,
                        exchange_id=body.exchange_id,
                        run_id=body.run_id,
                        account_id=body.account_id,
                        asset=body.asset,
                        amount=amount,
                        source=body.source,
                    )
                )
                session.flush()  # a concurrent twin fails here with IntegrityError, answered below
                return 201, _payout_json(session.get(m.Payout, payout_id))  # type: ignore[arg-type]
            if existing.amount != amount or existing.exchange_id != body.exchange_id:
                raise ProblemError(
                    409, "Conflict", f"payout {payout_id} already recorded with a different body"
                )
            return 200, _payout_json(existing)

        try:
            return idempotent(request, who, idempotency_key, body.model_dump(), work)
        except IntegrityError:
            with factory() as session:  # a concurrent request recorded it first: answer as a replay
                existing = session.get(m.Payout, payout_id)
            if existing is None or existing.amount != amount:
                raise ProblemError(409, "Conflict", f"payout {payout_id} conflicts") from None
            return JSONResponse(_payout_json(existing), status_code=200)

    @app.get("/api/v1/payouts")
    def list_payouts(
        who: Caller,
        exchange_id: str | None = None,
        account_id: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        """Payouts the caller may see (a customer sees only its own)."""
        query = select(m.Payout).order_by(m.Payout.payout_id).limit(limit)
        if who.role == "customer":
            query = query.where(
                m.Payout.exchange_id == who.exchange_id, m.Payout.account_id == who.account_id
            )
        elif who.role in ("exchange", "administrator"):
            query = query.where(m.Payout.exchange_id == who.exchange_id)
        if exchange_id:
            query = query.where(m.Payout.exchange_id == exchange_id)
        if account_id:
            query = query.where(m.Payout.account_id == account_id)
        with factory() as session:
            return [_payout_json(p) for p in session.scalars(query)]

    @app.get("/api/v1/payouts/{payout_id}")
    def get_payout(payout_id: str, who: Caller) -> dict[str, Any]:
        """One payout; 404 for anything the caller may not see."""
        with factory() as session:
            payout = session.get(m.Payout, payout_id)
        visible = payout is not None and (
            who.role == "regulator"
            or (who.role in ("exchange", "administrator") and payout.exchange_id == who.exchange_id)
            or (
                who.role == "customer"
                and payout.exchange_id == who.exchange_id
                and payout.account_id == who.account_id
            )
        )
        if not visible or payout is None:
            raise ProblemError(404, "Not found", f"no payout {payout_id}")
        return _payout_json(payout)

    @app.post("/api/v1/snapshots/{snapshot_id}/distributions", status_code=202)
    def start_distribution(
        request: Request,
        snapshot_id: RowId,
        body: DistributionIn,
        who: Caller,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        """Start a distribution job over a registered snapshot; read its progress at /api/v1/jobs/{id}."""
        row = writable_snapshot(snapshot_id, who)
        try:
            from caspr.distribution.plan import Plan  # noqa: PLC0415

            plan = Plan.model_validate(body.plan)
        except ValueError as exc:
            raise ProblemError(422, "Invalid plan", str(exc).splitlines()[0]) from exc
        run_id = payouts.run_id(row.exchange_id, row.content_hash, {"plan": plan.model_dump(mode="json")})
        return start_job(request, who, idempotency_key, body.model_dump(), row, "distribution", run_id)

    @app.post("/api/v1/snapshots/{snapshot_id}/incidents", status_code=202)
    def record_incident(
        request: Request,
        snapshot_id: RowId,
        body: IncidentIn,
        who: Caller,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        """Record an incident: allocation, waterfall and payout plan as a job; payouts recorded once."""
        from caspr.compensation.incident import Incident  # noqa: PLC0415

        row = writable_snapshot(snapshot_id, who)
        try:
            incident = Incident.model_validate(body.incident)
        except ValueError as exc:
            raise ProblemError(422, "Invalid incident", str(exc).splitlines()[0]) from exc
        if len(incident.id) > 100:
            raise ProblemError(422, "Invalid incident", "incident.id: at most 100 characters")
        run_id = incident.id
        return start_job(request, who, idempotency_key, body.model_dump(mode="json"), row, "incident", run_id)

    @app.get("/api/v1/jobs/{job_id}")
    def get_job(job_id: RowId, who: Caller) -> dict[str, Any]:
        """A job's status and progress."""
        with factory() as session:
            job = session.get(m.Job, job_id)
        if job is None or who.role == "customer":
            raise ProblemError(404, "Not found", f"no job {job_id}")
        may_read_exchange(who, job.exchange_id)
        result = json.loads(job.detail) if job.status == "done" and job.detail else None
        error = json.loads(job.detail) if job.status == "failed" and job.detail else None
        return {
            "job_id": job.id,
            "kind": job.kind,
            "run_id": job.run_id,
            "status": job.status,
            "done": job.done,
            "total": job.total,
            "error": error,
            "result": result,
        }

    @app.post("/api/v1/calibrations")
    def run_calibration(
        request: Request,
        body: CalibrationIn,
        who: Caller,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        """Regulators only: calibrate the proposed Japanese reserve to a coverage target."""
        if who.role != "regulator":
            raise ProblemError(403, "Forbidden", "calibrations are for regulators")
        from caspr.calibration.backtest import calibrate  # noqa: PLC0415 - heavy; only this route needs it

        def work(_: Session) -> tuple[int, dict[str, Any]]:
            try:
                return 200, calibrate(Decimal(body.coverage), body.by).to_dict()
            except (ValueError, CasprError) as exc:
                raise ProblemError(422, "Cannot calibrate", str(exc)) from exc

        return idempotent(request, who, idempotency_key, body.model_dump(), work)

    return app
