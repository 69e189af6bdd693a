"""API keys: created, listed, revoked and rotated; every change covered by the audit chain.

A key is shown once, when created; the store keeps its SHA-256. Revoking sets
``revoked_at`` (the row stays, so the audit entries that name it keep their meaning);
rotating revokes a key and creates another with the same role and scope.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from caspr.store.audit import cover_key
from caspr.store.models import ApiKey, utcnow

ROLES = ("exchange", "regulator", "administrator", "customer")


def hash_key(key: str) -> str:
    """How keys are stored: SHA-256 hex."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Grant:
    """A key just created: its id and the key itself (shown once)."""

    id: int
    key: str


def scope_problem(role: str, exchange: str | None, account: str | None) -> str | None:
    """What is wrong with a key's role and scope, or None."""
    if role not in ROLES:
        return f"role must be one of {', '.join(ROLES)}"
    if role != "regulator" and not exchange:
        return f"a {role} key needs an exchange"
    if role == "customer" and not account:
        return "a customer key needs an account"
    return None


def grant(
    session: Session,
    actor: str,
    role: str,
    exchange: str | None = None,
    account: str | None = None,
    expires_at: dt.datetime | None = None,
) -> Grant:
    """Create a key (audited)."""
    problem = scope_problem(role, exchange, account)
    if problem:
        raise ValueError(problem)
    key = "caspr_" + secrets.token_urlsafe(32)
    row = ApiKey(
        key_hash=hash_key(key), role=role, exchange_id=exchange, account_id=account, expires_at=expires_at
    )
    session.add(row)
    session.flush()
    cover_key(session, actor, row, "create")
    return Grant(row.id, key)


def revoke(session: Session, actor: str, key_id: int) -> ApiKey:
    """Revoke a key now (audited); revoking twice is refused."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise LookupError(f"no key {key_id}")
    if row.revoked_at is not None:
        raise ValueError(f"key {key_id} is already revoked")
    row.revoked_at = utcnow()
    cover_key(session, actor, row, "revoke")
    return row


def rotate(session: Session, actor: str, key_id: int, expires_at: dt.datetime | None = None) -> Grant:
    """Revoke a key and create its successor with the same role and scope (both audited)."""
    old = revoke(session, actor, key_id)
    return grant(session, actor, old.role, old.exchange_id, old.account_id, expires_at)


def listing(session: Session) -> list[ApiKey]:
    """Every key, oldest first (hashes only; the keys themselves are never stored)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
