"""Assessments (read) and calibrations (regulators)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from caspr.api.access import Caller, Db, RowId, TextId, may_read_exchange, not_found
from caspr.api.idempotency import idempotent
from caspr.api.problems import ProblemError
from caspr.errors import CasprError
from caspr.store import models as m

router = APIRouter(prefix="/api/v1")


class CalibrationIn(BaseModel):
    """Calibrate the proposed Japanese reserve to a coverage target."""

    model_config = ConfigDict(extra="forbid")
    coverage: str = Field(pattern=r"^0(\.[0-9]{1,6})?$|^1$")
    by: str = Field(default="value", pattern="^(value|count)$")


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: no credentials needed."""
    return {"status": "ok"}


@router.get("/assessments/{assessment_id}")
def get_assessment(assessment_id: RowId, who: Caller, factory: Db) -> dict[str, Any]:
    """One stored assessment with its full component tree."""
    with factory() as session:
        row = session.get(m.Assessment, assessment_id)
    if row is None or who.role == "customer":
        raise not_found(f"assessment {assessment_id}")
    may_read_exchange(who, row.exchange_id)
    return {"id": row.id, "snapshot_id": row.snapshot_id, "exchange_id": row.exchange_id, **row.document}


@router.get("/exchanges/{exchange_id}/assessments")
def list_assessments(exchange_id: TextId, who: Caller, factory: Db) -> list[dict[str, Any]]:
    """An exchange's assessments, newest first."""
    if who.role == "customer":
        raise not_found(f"exchange {exchange_id}")
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


@router.post("/calibrations")
def run_calibration(
    request: Request,
    body: CalibrationIn,
    who: Caller,
    factory: Db,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Regulators only: calibrate the proposed Japanese reserve to a coverage target."""
    if who.role == "customer":
        raise not_found("calibrations")
    if who.role != "regulator":
        raise ProblemError(403, "Forbidden", "calibrations are for regulators")
    from caspr.calibration.backtest import calibrate  # noqa: PLC0415 - heavy; only this route needs it

    def work(_: Session) -> tuple[int, dict[str, Any]]:
        try:
            return 200, calibrate(Decimal(body.coverage), body.by).to_dict()
        except (ValueError, CasprError) as exc:
            raise ProblemError(422, "Cannot calibrate", type(exc).__name__) from None

    response, _ = idempotent(factory, who, idempotency_key, request.url.path, body.model_dump(), work)
    return response
