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
import re
import shutil
import stat
import tarfile
import tempfile
from pathlib import Path
from typing import Annotated, Any

import anyio
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


def _insert(
    session: Session, who: Principal, snapshot: Any, folder: Path, digest: str
) -> tuple[int, dict[str, Any]]:
    """Store the snapshot's row (and its exchange's, the first time)."""
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
        return _insert(session, who, snapshot, folder, digest)

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


UPLOAD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}\.(csv|parquet|yaml)$")
"""A snapshot file's name: flat, one of the formats the loader reads."""


def store_root(settings: Settings) -> Path:
    """Where uploads are kept, one folder per content digest."""
    if settings.store_root is not None:
        return settings.store_root
    if settings.data_root is not None:
        return settings.data_root / ".caspr-store"
    raise ProblemError(403, "Forbidden", "uploads are not configured on this server (no data root)")


def unpack(archive: Path, into: Path, limit: int) -> None:
    """Extract a tar of snapshot files: flat names, regular files only, ``limit`` bytes in all.

    Raises:
        ProblemError: 422 naming the first member refused (never its content).
    """
    total = 0
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            for member in tar:
                if not member.isreg() or not UPLOAD_NAME.match(member.name):
                    raise ProblemError(
                        422,
                        "Invalid snapshot",
                        "the archive may hold only flat .csv, .parquet and .yaml files",
                    )
                total += member.size
                if total > limit:
                    raise ProblemError(413, "Content too large", f"the snapshot is larger than {limit} bytes")
                source = tar.extractfile(member)
                if source is None:
                    raise ProblemError(422, "Invalid snapshot", f"{member.name}: unreadable")
                with source, (into / member.name).open("xb") as target:
                    shutil.copyfileobj(source, target)
    except (tarfile.TarError, FileExistsError, EOFError):
        raise ProblemError(
            422, "Invalid snapshot", "the body is not a tar archive of distinct files"
        ) from None


@router.post("/snapshots/upload", status_code=201)
async def upload_snapshot(
    request: Request,
    who: Caller,
    factory: Db,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Upload a snapshot as a tar of its files (``application/x-tar``, gzip allowed), streamed, size-limited.

    Kept in a content-addressed store (one folder per digest), validated, registered.
    """
    if who.role == "customer":
        raise ProblemError(404, "Not found", "no such resource")
    if who.role not in ("exchange", "administrator"):
        raise ProblemError(403, "Forbidden", "only exchanges and administrators upload snapshots")
    settings: Settings = request.app.state.settings
    root = store_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix="upload-", dir=root))
    try:
        archive = work_dir / "archive"
        with archive.open("wb") as out:
            async for chunk in request.stream():  # the guard stops it past Settings.max_upload
                out.write(chunk)
        folder = work_dir / "files"
        folder.mkdir()
        await anyio.to_thread.run_sync(unpack, archive, folder, settings.max_upload)
        digest = payouts.snapshot_digest(folder)
        final = root / digest
        if not final.exists():
            folder.rename(final)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return await anyio.to_thread.run_sync(
        _register_stored, request, who, factory, idempotency_key, final, digest
    )


def _register_stored(
    request: Request, who: Principal, factory: Any, key: str | None, folder: Path, digest: str
) -> JSONResponse:
    snapshot = load(folder)
    may_write(who, snapshot.exchange.id)

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        return _insert(session, who, snapshot, folder, digest)

    response, _ = idempotent(factory, who, key, request.url.path, {"content": digest}, work)
    return response
