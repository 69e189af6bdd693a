"""Idempotent POSTs, enforced by the database in the same transaction as the work.

The record ``(Idempotency-Key, caller)`` is inserted first, inside the transaction that does
the work and appends the audit entry; its unique constraint makes a concurrent twin wait
for that transaction and then fail, after which it answers with the stored response. So 50
simultaneous identical requests do the work once, on SQLite (writers serialised by ``BEGIN
IMMEDIATE``) and on PostgreSQL (the unique index) alike. Nothing is stored for a request
that fails: its key may be used again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from caspr.api.guard import Principal
from caspr.api.problems import ProblemError
from caspr.store import audit, payload_hash, transaction
from caspr.store import models as m

KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
"""Printable ASCII without spaces, at most 200 characters (the column's width)."""
Work = Callable[[Session], tuple[int, dict[str, Any]]]


def check_key(key: str | None) -> str:
    """The Idempotency-Key, or a 400 saying what is wrong with it."""
    if not key:
        raise ProblemError(400, "Idempotency-Key required", "every POST needs an Idempotency-Key header")
    if not KEY.match(key):
        raise ProblemError(400, "Invalid Idempotency-Key", "1 to 200 printable ASCII characters, no spaces")
    return key


def has_nul(value: Any) -> bool:
    """Whether any string inside ``value`` holds a NUL (PostgreSQL text cannot store one)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


def idempotent(
    factory: sessionmaker[Session], who: Principal, key: str | None, route: str, body: Any, work: Work
) -> tuple[JSONResponse, bool]:
    """Run ``work`` once per (key, caller); replay its response; 409 on a different request.

    Returns the response and whether this call did the work (False for a replay).
    """
    key = check_key(key)
    if has_nul(body):
        raise ProblemError(422, "Invalid request", "text fields may not contain NUL characters")
    digest = payload_hash(body)
    for _ in range(3):
        try:
            with transaction(factory) as session:
                record = m.IdempotencyRecord(
                    key=key, principal=who.key_hash, route=route, body_hash=digest, status=0, response={}
                )
                session.add(record)
                session.flush()  # a concurrent twin waits here, then fails with IntegrityError
                status, response = work(session)
                record.status, record.response = status, response
                audit(session, who.actor, route, body, key)
            return JSONResponse(response, status_code=status), True
        except IntegrityError:
            with factory() as session:
                seen = session.scalars(
                    select(m.IdempotencyRecord).where(
                        m.IdempotencyRecord.key == key, m.IdempotencyRecord.principal == who.key_hash
                    )
                ).first()
            if seen is None:
                continue  # the work itself met a concurrent writer (not this key): try again
            if seen.body_hash != digest or seen.route != route:
                raise ProblemError(
                    409, "Conflict", "this Idempotency-Key was used with a different request"
                ) from None
            return JSONResponse(seen.response, status_code=seen.status), False
    raise ProblemError(409, "Conflict", "a concurrent request changed the same records; retry")
