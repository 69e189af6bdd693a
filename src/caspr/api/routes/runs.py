"""Distribution and incident jobs: start one (once per Idempotency-Key), read its progress."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlalchemy.orm import Session, sessionmaker

from caspr import payouts
from caspr.api import jobs
from caspr.api.access import Caller, Db, RowId, may_read_exchange, not_found, writable_snapshot
from caspr.api.guard import Principal
from caspr.api.idempotency import idempotent
from caspr.api.problems import ProblemError
from caspr.store import models as m

router = APIRouter(prefix="/api/v1")


class DistributionIn(BaseModel):
    """Start a distribution job (in kind, Japan's defaults unless a plan is given)."""

    model_config = ConfigDict(extra="forbid")
    plan: dict[str, Any] = Field(default_factory=dict)
    batch_size: StrictInt = Field(default=1000, ge=1, le=100_000)
    """Rows per transaction (fewer if the database takes fewer in one statement)."""
    throttle_ms: StrictInt = Field(default=0, ge=0, le=10_000)
    """Pause between batches, to spare a production database."""


class IncidentIn(BaseModel):
    """Record an incident: the incident file's content (see docs/compensation.md)."""

    model_config = ConfigDict(extra="forbid")
    incident: dict[str, Any]
    batch_size: StrictInt = Field(default=1000, ge=1, le=100_000)


def _start(
    factory: sessionmaker[Session],
    request: Request,
    who: Principal,
    key: str | None,
    body: dict[str, Any],
    row: m.Snapshot,
    kind: str,
    run_id: str,
) -> JSONResponse:
    """Create a job (once per Idempotency-Key) and run it in the background."""
    created: list[int] = []

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
        created.append(job.id)
        return 202, {"job_id": job.id, "run_id": run_id, "status": "running"}

    response, fresh = idempotent(factory, who, key, request.url.path, body, work)
    if fresh:
        for job_id in created[-1:]:
            jobs.start(factory, job_id)
    return response


def _first_line(exc: Exception) -> str:
    """A validation error's first line, without the input it quotes."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


@router.post("/snapshots/{snapshot_id}/distributions", status_code=202)
def start_distribution(
    request: Request,
    snapshot_id: RowId,
    body: DistributionIn,
    who: Caller,
    factory: Db,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Start a distribution job over a registered snapshot; read its progress at /api/v1/jobs/{id}."""
    from caspr.distribution.plan import Plan  # noqa: PLC0415

    row = writable_snapshot(factory, snapshot_id, who)
    try:
        plan = Plan.model_validate(body.plan)
    except ValueError as exc:
        raise ProblemError(422, "Invalid plan", _first_line(exc)) from None
    run_id = payouts.run_id(row.exchange_id, row.content_hash, {"plan": plan.model_dump(mode="json")})
    return _start(factory, request, who, idempotency_key, body.model_dump(), row, "distribution", run_id)


@router.post("/snapshots/{snapshot_id}/incidents", status_code=202)
def record_incident(
    request: Request,
    snapshot_id: RowId,
    body: IncidentIn,
    who: Caller,
    factory: Db,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Record an incident: allocation, waterfall and payout plan as a job; payouts recorded once."""
    from caspr.compensation.incident import Incident  # noqa: PLC0415

    row = writable_snapshot(factory, snapshot_id, who)
    try:
        incident = Incident.model_validate(body.incident)
    except ValueError as exc:
        raise ProblemError(422, "Invalid incident", _first_line(exc)) from None
    if len(incident.id) > 100 or "\x00" in incident.id:
        raise ProblemError(422, "Invalid incident", "incident.id: at most 100 characters, no NUL")
    return _start(
        factory, request, who, idempotency_key, body.model_dump(mode="json"), row, "incident", incident.id
    )


@router.get("/jobs/{job_id}")
def get_job(job_id: RowId, who: Caller, factory: Db) -> dict[str, Any]:
    """A job's status and progress; a failed job's short message and error id."""
    with factory() as session:
        job = session.get(m.Job, job_id)
    if job is None or who.role == "customer":
        raise not_found(f"job {job_id}")
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
