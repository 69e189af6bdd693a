"""``/payouts``: record a payout once; read the payouts the caller may see."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from caspr import payouts
from caspr.api.access import TEXT, Caller, Db, may_write, not_found
from caspr.api.idempotency import idempotent
from caspr.api.problems import ProblemError
from caspr.store import models as m
from caspr.store.audit import cover_payouts

router = APIRouter(prefix="/api/v1")


class PayoutIn(BaseModel):
    """A payout to record (the id is derived: exchange, snapshot, run, account, asset, source)."""

    model_config = ConfigDict(extra="forbid")
    exchange_id: str = Field(min_length=1, max_length=100, pattern=TEXT)
    run_id: str = Field(min_length=1, max_length=100, pattern=TEXT)
    account_id: str = Field(min_length=1, max_length=100, pattern=TEXT)
    asset: str = Field(min_length=1, max_length=20, pattern=TEXT)
    amount: str = Field(pattern=r"^(0|[1-9][0-9]{0,19})(\.[0-9]{1,18})?$")
    source: str = Field(default="direct", min_length=1, max_length=50, pattern=TEXT)
    snapshot_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    """The snapshot the payout was computed from (part of its id); none for a manual payout."""


def payout_json(p: m.Payout) -> dict[str, Any]:
    """A payout as the API shows it (amount as a plain decimal string)."""
    return {
        "payout_id": p.payout_id,
        "exchange_id": p.exchange_id,
        "run_id": p.run_id,
        "account_id": p.account_id,
        "asset": p.asset,
        "amount": f"{p.amount.normalize():f}" if p.amount else "0",
        "source": p.source,
    }


@router.post("/payouts", status_code=201)
def record_payout(
    request: Request,
    body: PayoutIn,
    who: Caller,
    factory: Db,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Record a payout exactly once: the same payout again is a no-op, another amount under its id a 409."""
    may_write(who, body.exchange_id)
    amount = Decimal(body.amount)
    if amount <= 0:
        raise ProblemError(422, "Invalid amount", "a payout's amount must be above zero")
    digest = ""
    if body.snapshot_id is not None:
        with factory() as session:
            snap = session.get(m.Snapshot, body.snapshot_id)
        if snap is None or snap.exchange_id != body.exchange_id:
            raise not_found(f"snapshot {body.snapshot_id}")
        digest = snap.content_hash
    scope = payouts.Scope(body.exchange_id, digest, body.run_id)
    payout_id = payouts.payout_id(scope, body.account_id, body.asset, "direct", body.source)

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        if session.get(m.Exchange, body.exchange_id) is None:
            raise not_found(f"exchange {body.exchange_id}")
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
            session.flush()  # a concurrent twin under another key fails here; idempotent() retries it
            cover_payouts(session, who.actor, [payout_id], {"payout": payout_id})
            return 201, payout_json(session.get(m.Payout, payout_id))  # type: ignore[arg-type]
        if existing.amount != amount:
            raise ProblemError(
                409, "Conflict", f"payout {payout_id} already recorded with a different amount"
            )
        return 200, payout_json(existing)

    response, _ = idempotent(factory, who, idempotency_key, request.url.path, body.model_dump(), work)
    return response


@router.get("/payouts")
def list_payouts(
    who: Caller,
    factory: Db,
    exchange_id: Annotated[str | None, Query(max_length=100, pattern=TEXT)] = None,
    account_id: Annotated[str | None, Query(max_length=100, pattern=TEXT)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Payouts the caller may see (a customer sees only its own)."""
    query = select(m.Payout).order_by(m.Payout.payout_id).limit(limit)
    if who.role == "customer":
        query = query.where(m.Payout.exchange_id == who.exchange_id, m.Payout.account_id == who.account_id)
    elif who.role in ("exchange", "administrator"):
        query = query.where(m.Payout.exchange_id == who.exchange_id)
    if exchange_id:
        query = query.where(m.Payout.exchange_id == exchange_id)
    if account_id:
        query = query.where(m.Payout.account_id == account_id)
    with factory() as session:
        return [payout_json(p) for p in session.scalars(query)]


@router.get("/payouts/{payout_id}")
def get_payout(
    payout_id: Annotated[str, PathParam(pattern="^[0-9a-f]{1,64}$")], who: Caller, factory: Db
) -> dict[str, Any]:
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
        raise not_found(f"payout {payout_id}")
    return payout_json(payout)
