"""Distribution and incident jobs: compute the payouts, then record them batch by batch.

Which payouts a run produces and their ids come from :mod:`caspr.payouts` (the same
function the command line uses). Each batch is one transaction: insert the batch's payouts
(ids already there are left alone), read every id of the batch back and compare it field by
field with what was planned, cover the rows it wrote with a ``state.payouts`` audit entry (their digest), and
only then move ``done``. A row that is missing or differs (another run's payout under the
id) fails the job: ``done`` never counts a row that was not written and verified.

Before a run the snapshot's files are hashed again and compared with the digest recorded at
registration: edited files are refused, never paid. A server killed at any point loses
nothing (committed batches stay) and pays nothing twice; jobs still ``running`` when the
server starts are resumed. A failed job says what failed in a short sentence and an error
id; the traceback is in the server log under that id, never in the job (it could hold
account ids and amounts).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from caspr import payouts
from caspr.errors import CasprError
from caspr.store import audit, max_bind_parameters, transaction
from caspr.store import models as m
from caspr.store.audit import cover_payouts
from caspr.store.models import utcnow

log = logging.getLogger("caspr.api.jobs")

_COLUMNS = ("payout_id", "exchange_id", "run_id", "account_id", "asset", "amount", "source", "created_at")


class JobFailure(Exception):
    """A job failure whose message is safe to show to the caller (it holds no data)."""


class SnapshotChanged(JobFailure):
    """The snapshot's files no longer match the digest recorded at registration."""


class PayoutMismatch(JobFailure):
    """A payout id of this run is held by a row with a different body."""


def check_snapshot(snapshot: m.Snapshot) -> Path:
    """The snapshot's folder, after checking its content digest against the registered one.

    Raises:
        SnapshotChanged: a file was edited, added or removed since registration.
    """
    folder = Path(snapshot.path)
    try:
        digest = payouts.snapshot_digest(folder)
    except (CasprError, OSError) as exc:
        raise SnapshotChanged("the snapshot's files can no longer be read as registered") from exc
    if digest != snapshot.content_hash:
        raise SnapshotChanged("the snapshot's files changed after registration; register it again")
    return folder


def planned(job: m.Job, snapshot: m.Snapshot) -> tuple[list[payouts.PlannedPayout], str | None, str]:
    """The job's payouts (from the domain), its summary, and the payouts' source label."""
    from caspr.snapshot.loader import load_snapshot  # noqa: PLC0415 - heavy imports, only in the worker

    folder = check_snapshot(snapshot)
    parameters: dict[str, Any] = dict(job.parameters)
    loaded = load_snapshot(folder)
    if job.kind == "incident":
        from caspr.compensation import compensate  # noqa: PLC0415
        from caspr.compensation.incident import Incident  # noqa: PLC0415

        incident = Incident.model_validate(parameters["incident"])
        result = compensate(loaded, incident)
        summary = json.dumps(result.to_dict(), ensure_ascii=False)
        return list(payouts.compensation_payouts(result)), summary, f"incident:{incident.id}"[:50]
    from caspr.distribution.inkind import distribute_in_kind  # noqa: PLC0415
    from caspr.distribution.plan import Mode, Plan  # noqa: PLC0415
    from caspr.distribution.rounds import distribute_rounds  # noqa: PLC0415

    plan = Plan.model_validate(parameters.get("plan") or {})
    scope = payouts.Scope(job.exchange_id, snapshot.content_hash, job.run_id)
    result_: Any = (
        distribute_in_kind(loaded, plan) if plan.mode is Mode.IN_KIND else distribute_rounds(loaded, plan)
    )
    return list(payouts.distribution_payouts(scope, result_)), None, "distribution"


def batch_limit(session: Session, requested: int) -> int:
    """The largest batch the database takes in one statement, at most ``requested``."""
    return max(1, min(requested, max_bind_parameters(session.get_bind()) // len(_COLUMNS) - 1))


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> list[str]:
    """Insert the rows not there yet; the ids actually inserted."""
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(m.Payout).values(rows).on_conflict_do_nothing(index_elements=["payout_id"])
    return [str(r[0]) for r in session.execute(statement.returning(m.Payout.payout_id))]


def _verify(session: Session, rows: list[dict[str, Any]]) -> None:
    """Every row of the batch is in the table with exactly the planned body.

    Raises:
        PayoutMismatch: a row is missing or differs.
    """
    stored = {
        p.payout_id: p
        for p in session.scalars(
            select(m.Payout).where(m.Payout.payout_id.in_([r["payout_id"] for r in rows]))
        )
    }
    for row in rows:
        have = stored.get(row["payout_id"])
        if have is None or any(
            getattr(have, name) != row[name]
            for name in ("exchange_id", "run_id", "account_id", "asset", "amount")
        ):
            raise PayoutMismatch(
                "a payout id of this run is recorded with a different body; nothing was paid twice"
            )


def run(factory: sessionmaker[Session], job_id: int) -> None:
    """Run (or resume) a job to the end; failures are recorded on the job, never raised."""
    with factory() as session:
        job = session.get(m.Job, job_id)
        snapshot = session.get(m.Snapshot, job.snapshot_id) if job else None
    if job is None or snapshot is None:
        return
    try:
        plan, summary, source = planned(job, snapshot)
        now = utcnow()
        rows = [
            {
                "payout_id": p.payout_id,
                "exchange_id": job.exchange_id,
                "run_id": job.run_id,
                "account_id": p.account_id,
                "asset": p.asset,
                "amount": p.amount,
                "source": source,
                "created_at": now,
            }
            for p in plan
        ]
        parameters: dict[str, Any] = dict(job.parameters)
        pause = int(parameters.get("throttle_ms", 0)) / 1000
        with transaction(factory) as session:
            size = batch_limit(session, int(parameters.get("batch_size", 1000)))
            current = session.get(m.Job, job_id)
            current.total = len(rows)  # type: ignore[union-attr]
            done = current.done if current else 0
        for start in range(done - done % size, len(rows), size):
            batch = rows[start : start + size]
            with transaction(factory) as session:
                written = _insert_ignoring_duplicates(session, batch)
                _verify(session, batch)
                cover_payouts(session, "job", written, {"job": job_id, "run": job.run_id, "from": start})
                current = session.get(m.Job, job_id)
                current.done = start + len(batch)  # type: ignore[union-attr]
                current.updated_at = utcnow()  # type: ignore[union-attr]
            if pause:
                time.sleep(pause)
        with transaction(factory) as session:
            current = session.get(m.Job, job_id)
            current.status, current.done = "done", len(rows)  # type: ignore[union-attr]
            current.detail = summary  # type: ignore[union-attr]
            audit(session, "job", f"{job.kind}.done", {"job": job_id, "payouts": len(rows)})
    except Exception as exc:
        fail(factory, job_id, exc)


def fail(factory: sessionmaker[Session], job_id: int, exc: BaseException) -> str:
    """Mark the job failed with a short message and an error id; log the traceback under that id."""
    error_id = uuid.uuid4().hex[:16]
    if isinstance(exc, JobFailure):
        message = str(exc)
    elif isinstance(exc, CasprError):
        message = f"the job's input was refused ({type(exc).__name__})"
    else:
        message = "internal error"
    log.error(
        "job %s failed: %s", job_id, message, exc_info=exc, extra={"error_id": error_id, "job_id": job_id}
    )
    with transaction(factory) as session:
        current = session.get(m.Job, job_id)
        if current is not None:
            current.status = "failed"
            current.detail = json.dumps({"message": message, "error_id": error_id})
    return error_id


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
