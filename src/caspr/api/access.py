"""Who may do what: the caller (authenticated by :mod:`caspr.api.guard`) and the permission rules.

A customer asking for anything that is not its own gets 404, never 403, so that existence
does not leak; other roles get 403 for what they may see but not change.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi import Path as PathParam
from sqlalchemy.orm import Session, sessionmaker

from caspr.api.guard import Principal
from caspr.api.problems import ProblemError
from caspr.store import models as m

TEXT = r"^[^\x00-\x1f\x7f]+$"
"""Identifiers: no control characters (a NUL byte is refused by PostgreSQL's text type)."""


def principal(request: Request) -> Principal:
    """The caller the guard authenticated (401 if it did not run, which never happens behind it)."""
    who = getattr(request.state, "principal", None)
    if not isinstance(who, Principal):
        raise ProblemError(401, "Unauthorized", "send Authorization: Bearer <key>")
    return who


def database(request: Request) -> sessionmaker[Session]:
    """The session factory of the app."""
    factory: sessionmaker[Session] = request.app.state.factory
    return factory


Caller = Annotated[Principal, Depends(principal)]
Db = Annotated[sessionmaker[Session], Depends(database)]
RowId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
"""A database row id: bounded so no path can overflow the 32-bit INTEGER column (PostgreSQL)."""
TextId = Annotated[str, PathParam(min_length=1, max_length=100, pattern=TEXT)]


def not_found(what: str) -> ProblemError:
    """The one 404 (names the kind of thing, never echoes more than its id)."""
    return ProblemError(404, "Not found", f"no {what}")


def may_read_exchange(who: Principal, exchange_id: str) -> None:
    """Regulators read every exchange; exchanges and administrators their own; 404 otherwise."""
    if who.role == "regulator" or (
        who.role in ("exchange", "administrator") and who.exchange_id == exchange_id
    ):
        return
    raise not_found(f"exchange {exchange_id}")


def may_write(who: Principal, exchange_id: str) -> None:
    """Exchanges and administrators write for their own exchange; customers get 404, others 403."""
    if who.role in ("exchange", "administrator") and who.exchange_id == exchange_id:
        return
    if who.role == "customer":
        raise not_found(f"exchange {exchange_id}")
    raise ProblemError(403, "Forbidden", f"a {who.role} key may not write for exchange {exchange_id}")


def writable_snapshot(factory: sessionmaker[Session], snapshot_id: int, who: Principal) -> m.Snapshot:
    """The snapshot, if the caller may act on its exchange (404 unseen, 403 read-only)."""
    with factory() as session:
        row = session.get(m.Snapshot, snapshot_id)
    if row is None:
        raise not_found(f"snapshot {snapshot_id}")
    may_read_exchange(who, row.exchange_id)
    may_write(who, row.exchange_id)
    return row
