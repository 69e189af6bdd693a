"""The audit chain: keyed, chained, covering the state it changed, checkpointed outside the database.

* **Keyed.** Each entry's hash is an HMAC-SHA256 under a secret held outside the database
  (``CASPR_AUDIT_KEY`` or the file named by ``CASPR_AUDIT_KEY_FILE``). Someone who can write
  the database but not read that secret cannot produce a valid entry, so editing an entry
  or re-chaining the log from an edited entry onward is detected. Without a secret the
  entries are plain SHA-256 (scheme ``sha256``): they show accidents, not tampering, and
  ``verify`` says so.
* **Chained.** Each entry holds the hash of the one before; sequence numbers have no gaps.
* **Covering state.** Entries of the ``state.*`` kinds carry the digest of the rows they
  wrote (payouts, API keys); those rows point back at their entry (``audit_seq``). Verify
  recomputes every digest from the rows: an amount changed, a row deleted or inserted, a
  key promoted or un-revoked in SQL, is named.
* **Checkpoints.** ``checkpoint`` signs the head (sequence number and hash) with the same
  secret; kept outside the database (a regulator's inbox, a WORM bucket), it lets
  ``verify`` detect a truncated tail or a deleted log, which no chain can on its own.

What the chain cannot prove: that an entry's content was true when written (a compromised
server with the secret writes valid lies), nor anything after the last checkpoint someone
kept if the secret leaks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from caspr.store.models import ApiKey, AuditEntry, Payout, utcnow

GENESIS = "0" * 64
KEYED, UNKEYED = "hmac-sha256", "sha256"


def payload_hash(payload: Any) -> str:
    """SHA-256 of the canonical JSON of ``payload``."""
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def secret() -> bytes | None:
    """The audit secret: ``CASPR_AUDIT_KEY``, else the content of ``CASPR_AUDIT_KEY_FILE``, else none."""
    value = os.environ.get("CASPR_AUDIT_KEY")
    if value:
        return value.encode()
    path = os.environ.get("CASPR_AUDIT_KEY_FILE")
    if path:
        return Path(path).read_bytes().strip()
    return None


def _mac(key: bytes | None, body: list[Any]) -> str:
    data = json.dumps(body, separators=(",", ":"), default=str).encode()
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def _at(at: dt.datetime) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()


def _entry_body(e: AuditEntry) -> list[Any]:
    body: list[Any] = [e.seq, _at(e.at), e.actor, e.action, e.idempotency_key, e.payload_hash, e.prev_hash]
    if e.scheme is not None:  # entries written before migration 0004 had no scheme and no state
        body += [e.scheme, e.state_hash]
    return body


def _lock_head(session: Session) -> AuditEntry | None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE audit_log IN EXCLUSIVE MODE"))
    return session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()


def audit(
    session: Session,
    actor: str,
    action: str,
    payload: Any,
    idempotency_key: str | None = None,
    state_hash: str | None = None,
) -> AuditEntry:
    """Append an entry chained to the last one, in the caller's transaction.

    On PostgreSQL the table is locked for the append so concurrent writers queue; SQLite
    serialises writers itself.
    """
    last = _lock_head(session)
    key = secret()
    entry = AuditEntry(
        seq=last.seq + 1 if last else 1,
        at=utcnow(),
        actor=actor[:100],
        action=action[:100],
        idempotency_key=idempotency_key,
        payload_hash=payload_hash(payload),
        prev_hash=last.entry_hash if last else GENESIS,
        scheme=KEYED if key else UNKEYED,
        state_hash=state_hash,
    )
    entry.entry_hash = _mac(key, _entry_body(entry))
    session.add(entry)
    session.flush()
    return entry


def payout_state(rows: Iterable[Any]) -> str:
    """The digest of payout rows (ids, owners, assets, exact amounts), in id order."""
    return payload_hash(
        sorted(
            [
                p.payout_id,
                p.exchange_id,
                p.run_id,
                p.account_id,
                p.asset,
                f"{Decimal(p.amount).normalize():f}",
                p.source,
            ]
            for p in rows
        )
    )


def key_state(rows: Iterable[ApiKey]) -> str:
    """The digest of API key rows (hash, role, scope, revocation, expiry)."""
    return payload_hash(
        sorted(
            [
                k.key_hash,
                k.role,
                k.exchange_id,
                k.account_id,
                _at(k.revoked_at) if k.revoked_at else None,
                _at(k.expires_at) if k.expires_at else None,
            ]
            for k in rows
        )
    )


def cover_payouts(session: Session, actor: str, payout_ids: list[str], payload: Any) -> AuditEntry | None:
    """Append a ``state.payouts`` entry covering these (just written) payouts and point them at it.

    One UPDATE and one SELECT whatever the batch's size.
    """
    if not payout_ids:
        return None
    last = _lock_head(session)
    seq = last.seq + 1 if last else 1
    session.execute(
        update(Payout).where(Payout.payout_id.in_(payout_ids)).values(audit_seq=seq),
        execution_options={"synchronize_session": False},
    )
    columns = (
        Payout.payout_id,
        Payout.exchange_id,
        Payout.run_id,
        Payout.account_id,
        Payout.asset,
        Payout.amount,
    )
    rows = session.execute(select(*columns, Payout.source).where(Payout.audit_seq == seq)).all()
    return audit(session, actor, "state.payouts", payload, state_hash=payout_state(rows))


def cover_key(session: Session, actor: str, key: ApiKey, action: str) -> AuditEntry:
    """Append a ``state.key`` entry for a key created, revoked or rotated, and point the key at it."""
    last = _lock_head(session)
    key.audit_seq = last.seq + 1 if last else 1
    session.flush()
    payload = {"action": action, "role": key.role, "exchange": key.exchange_id, "account": key.account_id}
    return audit(session, actor, "state.key", payload, state_hash=key_state([key]))


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement of the head: the log had ``seq`` entries, the last hashing to ``entry_hash``."""

    seq: int
    entry_hash: str
    at: str
    mac: str
    """Empty for a head given by hand (``--expect-head``): then only the log is checked against it."""

    @staticmethod
    def body(seq: int, entry_hash: str, at: str) -> list[Any]:
        """What the checkpoint's MAC covers."""
        return ["caspr-audit-checkpoint", seq, entry_hash, at]

    def to_json(self) -> str:
        """The checkpoint file's content."""
        return json.dumps(
            {"seq": self.seq, "entry_hash": self.entry_hash, "at": self.at, "mac": self.mac}, indent=2
        )

    @classmethod
    def from_json(cls, content: str) -> Checkpoint:
        """Read a checkpoint file's content."""
        data = json.loads(content)
        return cls(int(data["seq"]), str(data["entry_hash"]), str(data["at"]), str(data["mac"]))


def checkpoint(session: Session) -> Checkpoint:
    """Sign the current head (requires the secret: an unkeyed checkpoint would prove nothing)."""
    key = secret()
    if key is None:
        msg = "set CASPR_AUDIT_KEY (or CASPR_AUDIT_KEY_FILE): a checkpoint needs the audit secret"
        raise ValueError(msg)
    head = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq, entry_hash = (head.seq, head.entry_hash) if head else (0, GENESIS)
    at = _at(utcnow())
    return Checkpoint(seq, entry_hash, at, _mac(key, Checkpoint.body(seq, entry_hash, at)))


@dataclass(frozen=True, slots=True)
class AuditVerdict:
    """Whether the log is intact, how many entries, the first bad one, and what was not provable."""

    valid: bool
    entries: int
    first_bad: int | None
    reason: str | None
    unkeyed: int = 0


@dataclass(slots=True)
class _Walk:
    """What walking the chain found."""

    count: int = 0
    unkeyed: int = 0
    states: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    hashes: dict[int, str] = field(default_factory=dict)


def _entry_fault(
    entry: AuditEntry, key: bytes | None, expected: int, previous: str, keyed_seen: bool
) -> str | None:
    if entry.seq != expected:
        return f"entry {expected} is missing (next is {entry.seq})"
    if entry.prev_hash != previous:
        return "does not follow the entry before it (removed or reordered)"
    if entry.scheme == KEYED and key is None:
        return "keyed entry: set CASPR_AUDIT_KEY to verify it"
    if entry.scheme != KEYED and keyed_seen:
        return "an unkeyed entry after keyed ones (forged or re-chained)"
    if _mac(key if entry.scheme == KEYED else None, _entry_body(entry)) != entry.entry_hash:
        return "its content was altered"
    return None


def _walk(session: Session, key: bytes | None) -> tuple[_Walk, tuple[int | None, str] | None]:
    walk, previous, keyed_seen = _Walk(), GENESIS, False
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)):
        walk.count += 1
        expected = walk.count
        fault = _entry_fault(entry, key, expected, previous, keyed_seen)
        if fault is not None:
            return walk, (expected if entry.seq != expected else entry.seq, fault)
        keyed_seen = keyed_seen or entry.scheme == KEYED
        walk.unkeyed += entry.scheme != KEYED
        if entry.action in ("state.payouts", "state.key"):
            walk.states[entry.seq] = (entry.action, entry.state_hash)
        walk.hashes[entry.seq] = entry.entry_hash
        previous = entry.entry_hash
    return walk, None


def _checkpoint_fault(walk: _Walk, key: bytes | None, expect: Checkpoint) -> tuple[int | None, str] | None:
    signed = Checkpoint.body(expect.seq, expect.entry_hash, expect.at)
    if expect.mac and (key is None or _mac(key, signed) != expect.mac):
        return None, "the checkpoint's signature does not verify under this audit key"
    if walk.count < expect.seq:
        return (
            walk.count + 1,
            f"the log ends at entry {walk.count}; the checkpoint saw {expect.seq} (truncated)",
        )
    if expect.seq and walk.hashes.get(expect.seq) != expect.entry_hash:
        return expect.seq, "differs from the checkpoint (rewritten)"
    return None


def verify_audit(session: Session, expect: Checkpoint | None = None) -> AuditVerdict:
    """Recompute the chain, the state digests and, given one, the checkpoint: name the first fault."""
    key = secret()
    fault: tuple[int | None, str] | None
    walk, fault = _walk(session, key)
    if fault is None and expect is not None:
        fault = _checkpoint_fault(walk, key, expect)
    if fault is None:
        fault = _state_fault(session, walk.states)
    if fault is not None:
        return AuditVerdict(False, walk.count, fault[0], fault[1], walk.unkeyed)
    return AuditVerdict(True, walk.count, None, None, walk.unkeyed)


def _state_fault(
    session: Session, states: dict[int, tuple[str, str | None]]
) -> tuple[int | None, str] | None:
    """The first state entry whose rows no longer match its digest, or a row no entry covers.

    Payout rows never change after they are written: each ``state.payouts`` entry must
    still match exactly the rows that point at it. A key changes (revoked, rotated): its
    row must match the ``state.key`` entry it points at now.
    """
    groups: dict[int | None, list[Any]] = {}
    for payout in session.scalars(select(Payout)):
        groups.setdefault(payout.audit_seq, []).append(payout)
    for seq, (action, digest) in sorted(states.items()):
        if action == "state.payouts" and payout_state(groups.pop(seq, [])) != digest:
            return seq, "the payouts it recorded were changed, removed or added to"
    for where, rows in groups.items():
        if rows:
            return where, f"{len(rows)} payout row(s) not covered by any audit entry"
    for api_key in session.scalars(select(ApiKey).order_by(ApiKey.id)):
        action, digest = states.get(api_key.audit_seq or 0, ("", None))
        if action != "state.key" or key_state([api_key]) != digest:
            return (
                api_key.audit_seq,
                f"API key {api_key.id} does not match its audit entry (changed or added in SQL)",
            )
    return None


def adopt(session: Session, actor: str) -> tuple[int, int]:
    """Cover rows written before migration 0004 (no audit entry points at them): trust on first use.

    One ``state.payouts`` entry for every uncovered payout and one ``state.key`` entry per
    uncovered key. Run once, right after ``caspr db upgrade``; what the rows were before
    this moment the log cannot prove. Returns (payouts, keys) adopted.
    """
    ids = list(session.scalars(select(Payout.payout_id).where(Payout.audit_seq.is_(None))))
    cover_payouts(session, actor, ids, {"adopted": len(ids)})
    orphans = list(session.scalars(select(ApiKey).where(ApiKey.audit_seq.is_(None))))
    for key in orphans:
        cover_key(session, actor, key, "adopt")
    return len(ids), len(orphans)
