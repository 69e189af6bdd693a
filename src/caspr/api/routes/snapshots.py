"""``/snapshots``: register a snapshot folder under the data root, and assess it.

A path is accepted only from a role allowed to (``Settings.path_roles``), only inside the
caller's own exchange folder of the configured data root (``<data root>/<exchange id>/``),
and only if no component of it is a link; all of that is decided before any file is
opened. The folder must hold regular files only (a FIFO, a device or a link is refused
before it is read), at most ``Settings.max_upload`` bytes in all. A refused snapshot's
problem names files, rows and columns, never their contents or the server's paths.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from caspr import payouts
from caspr.api import jobs
from caspr.api.access import TEXT, Caller, Db, RowId, may_write, writable_snapshot
from caspr.api.guard import Principal, Settings
from caspr.api.idempotency import idempotent
from caspr.api.problems import ProblemError
from caspr.errors import CasprError, InputError
from caspr.store import models as m

router = APIRouter(prefix="/api/v1")


class SnapshotIn(BaseModel):
    """Register a snapshot folder: a path relative to the caller's folder of the data root."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=1000, pattern=TEXT)


def confined(settings: Settings, who: Principal, path: str) -> Path:
    """``path`` inside ``<data root>/<exchange id>``, every component checked not to be a link.

    Raises:
        ProblemError: 403 for a role that may not register paths or when no data root is
            configured; 422 for a path outside the caller's folder, through a link, or not a folder.
    """
    if who.role == "customer":
        raise ProblemError(404, "Not found", "no such resource")
    if settings.data_root is None or who.role not in settings.path_roles or not who.exchange_id:
        raise ProblemError(403, "Forbidden", "registering a server path is not allowed for this key")
    base = settings.data_root / who.exchange_id
    relative = Path(path)
    if relative.is_absolute():
        try:
            relative = relative.relative_to(base)
        except ValueError:
            raise ProblemError(403, "Forbidden", "the path is outside this exchange's data folder") from None
    if any(part in ("..", "") for part in relative.parts):
        raise ProblemError(422, "Invalid snapshot", "the path may not contain '..'")
    current = base
    for part in (None, *relative.parts):
        if part is not None:
            current = current / part
        try:
            info = os.lstat(current)
        except OSError:
            raise ProblemError(422, "Invalid snapshot", f"{relative}: not a folder") from None
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            raise ProblemError(422, "Invalid snapshot", f"{relative}: not a folder (links are not followed)")
    return current


def checked_folder(folder: Path, settings: Settings) -> str:
    """The folder's content digest, after checking it holds only regular files within the size limit."""
    total = 0
    for entry in os.scandir(folder):
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            continue
        if not stat.S_ISREG(info.st_mode):
            raise ProblemError(
                422, "Invalid snapshot", f"{entry.name}: not a regular file (a link, pipe or device)"
            )
        total += info.st_size
    if total > settings.max_upload:
        raise ProblemError(
            413, "Content too large", f"the snapshot is larger than {settings.max_upload} bytes"
        )
    try:
        return payouts.snapshot_digest(folder)
    except InputError as error:
        raise ProblemError(422, "Invalid snapshot", "; ".join(where(p) for p in error.problems[:5])) from None


def where(problem: Any) -> str:
    """A loader problem's location and nothing else (its message may quote the file's content)."""
    parts = [Path(problem.file).name]
    if problem.row is not None:
        parts.append(f"row {problem.row}")
    if problem.column:
        parts.append(f"column {problem.column}")
    return " ".join(parts)


def load(folder: Path) -> Any:
    """The validated snapshot; a refusal names only where the problems are."""
    from caspr.snapshot.loader import load_snapshot  # noqa: PLC0415

    try:
        return load_snapshot(folder)
    except InputError as error:
        found = "; ".join(where(p) for p in error.problems[:5])
        raise ProblemError(
            422,
            "Invalid snapshot",
            f"{len(error.problems)} problem(s) at {found} (run caspr validate for details)",
        ) from None


@router.post("/snapshots", status_code=201)
def register_snapshot(
    request: Request,
    body: SnapshotIn,
    who: Caller,
    factory: Db,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Register a snapshot folder under the caller's data folder (validated; nothing stored if invalid)."""
    settings: Settings = request.app.state.settings
    folder = confined(settings, who, body.path)
    digest = checked_folder(folder, settings)
    snapshot = load(folder)
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
            path=str(folder),
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

    response, _ = idempotent(factory, who, idempotency_key, request.url.path, body.model_dump(), work)
    return response


@router.post("/snapshots/{snapshot_id}/assessments", status_code=201)
def run_assessment(
    request: Request,
    snapshot_id: RowId,
    who: Caller,
    factory: Db,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Assess a registered snapshot under the regimes of its jurisdiction; store every component."""
    from caspr.assess import assess  # noqa: PLC0415

    row = writable_snapshot(factory, snapshot_id, who)
    try:
        snapshot = load(jobs.check_snapshot(row))
    except jobs.JobFailure as exc:
        raise ProblemError(409, "Snapshot changed", str(exc)) from None

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        try:
            report = assess(snapshot)
        except CasprError as exc:
            raise ProblemError(422, "Cannot assess", type(exc).__name__) from None
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

    response, _ = idempotent(
        factory, who, idempotency_key, request.url.path, {"snapshot_id": snapshot_id}, work
    )
    return response
