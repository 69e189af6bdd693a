"""Distribution jobs: compute the plan, then record its payouts batch by batch.

Each batch is one transaction that inserts payouts with deterministic ids and ignores ids
already there, then moves the job's progress. A server killed at any point loses nothing
(committed batches stay) and pays nothing twice (a rerun skips the ids it finds); jobs
still ``running`` when the server starts are resumed.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from caspr.compensation import compensate
from caspr.compensation.incident import Incident
from caspr.distribution.inkind import distribute_in_kind
from caspr.distribution.plan import Plan
from caspr.snapshot.loader import load_snapshot
from caspr.store import audit, transaction
from caspr.store import models as m
from caspr.store.models import utcnow


def payout_id(run_id: str, account: str, asset: str) -> str:
    """The same derivation as ``POST /api/v1/payouts``."""
    return hashlib.sha256(json.dumps([run_id, account, asset]).encode()).hexdigest()[:32]


def _incident_rows(job: m.Job, folder: Path) -> tuple[list[dict[str, Any]], str]:
    """An incident job's payouts (in kind or cash; IOUs are not payouts) and its summary."""
    parameters: dict[str, Any] = dict(job.parameters)
    incident = Incident.model_validate(parameters["incident"])
    result = compensate(load_snapshot(folder), incident)
    table = result.payouts
    out = []
    for pid, account, asset, amount, kind in zip(
        table["payout_id"].to_pylist(),
        table["account_id"].to_pylist(),
        table["compensation_asset"].to_pylist(),
        table["compensation_amount"].to_pylist(),
        table["compensation"].to_pylist(),
        strict=True,
    ):
        if kind != "iou" and Decimal(amount) > 0:
            out.append(
                {
                    "payout_id": pid,
                    "exchange_id": job.exchange_id,
                    "run_id": job.run_id,
                    "account_id": account,
                    "asset": asset,
                    "amount": Decimal(amount),
                    "source": f"incident:{incident.id}"[:50],
                    "created_at": utcnow(),
                }
            )
    return out, json.dumps(result.to_dict(), ensure_ascii=False)


def _rows(job: m.Job, folder: Path) -> list[dict[str, Any]]:
    parameters: dict[str, Any] = dict(job.parameters)
    plan = Plan.model_validate(parameters.get("plan") or {})
    result = distribute_in_kind(load_snapshot(folder), plan)
    rows = result.rows
    out = []
    for account, asset, amount, held in zip(
        rows["account_id"].to_pylist(),
        rows["asset"].to_pylist(),
        rows["distributed_amount"].to_pylist(),
        rows["held"].to_pylist(),
        strict=True,
    ):
        if not held and Decimal(amount) > 0:
            out.append(
                {
                    "payout_id": payout_id(job.run_id, account, asset),
                    "exchange_id": job.exchange_id,
                    "run_id": job.run_id,
                    "account_id": account,
                    "asset": asset,
                    "amount": Decimal(amount),
                    "source": "distribution",
                    "created_at": utcnow(),
                }
            )
    return out


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> None:
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    session.execute(module.insert(m.Payout).values(rows).on_conflict_do_nothing(index_elements=["payout_id"]))


def run(factory: sessionmaker[Session], job_id: int) -> None:
    """Run (or resume) a job to the end; failures are recorded on the job, never raised."""
    with factory() as session:
        job = session.get(m.Job, job_id)
        snapshot = session.get(m.Snapshot, job.snapshot_id) if job else None
    if job is None or snapshot is None:
        return
    try:
        summary = None
        if job.kind == "incident":
            rows, summary = _incident_rows(job, Path(snapshot.path))
        else:
            rows = _rows(job, Path(snapshot.path))
        parameters: dict[str, Any] = dict(job.parameters)
        size = int(parameters.get("batch_size", 1000))
        pause = int(parameters.get("throttle_ms", 0)) / 1000
        with transaction(factory) as session:
            session.get(m.Job, job_id).total = len(rows)  # type: ignore[union-attr]
        for start in range(job.done - job.done % size if job.done else 0, len(rows), size):
            with transaction(factory) as session:
                _insert_ignoring_duplicates(session, rows[start : start + size])
                current = session.get(m.Job, job_id)
                current.done = min(start + size, len(rows))  # type: ignore[union-attr]
                current.updated_at = utcnow()  # type: ignore[union-attr]
            if pause:
                time.sleep(pause)
        with transaction(factory) as session:
            current = session.get(m.Job, job_id)
            current.status, current.done = "done", len(rows)  # type: ignore[union-attr]
            current.detail = summary  # type: ignore[union-attr]
            audit(session, "job", f"{job.kind}.done", {"job": job_id, "payouts": len(rows)})
    except Exception as exc:
        with transaction(factory) as session:
            current = session.get(m.Job, job_id)
            if current is not None:
                current.status, current.detail = "failed", f"{type(exc).__name__}: {exc}"


def start(factory: sessionmaker[Session], job_id: int) -> None:
    """Run a job in a background thread."""
    threading.Thread(target=run, args=(factory, job_id), daemon=True, name=f"job-{job_id}").start()


def resume(factory: sessionmaker[Session]) -> list[int]:
    """Restart every job left running (after a crash or a kill)."""
    with factory() as session:
        ids = list(session.scalars(select(m.Job.id).where(m.Job.status == "running")))
    for job_id in ids:
        start(factory, job_id)
    return ids
