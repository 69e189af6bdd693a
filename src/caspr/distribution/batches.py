"""Payout batches recorded idempotently in a ledger (SQLite, one transaction per batch).

Every payout has a deterministic id from :func:`caspr.payouts.payout_id` (exchange,
snapshot digest, run, account, asset, round, track). Recording the same payout again is a
no-op; the same id with a different body is rejected with
:class:`~caspr.errors.IdempotencyConflict` naming the field. A run killed
at any point leaves whole batches behind, so a rerun records each payout exactly once.

After recording, the ledger is reconciled with the plan (issue #16, invariants where money
moves): for every run and asset, Σ amounts in the ledger = Σ amounts planned, exactly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from caspr import payouts
from caspr.errors import IdempotencyConflict, InvariantViolation

SCHEMA = """
CREATE TABLE IF NOT EXISTS payouts (
    payout_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    asset TEXT NOT NULL,
    amount TEXT NOT NULL,
    round TEXT NOT NULL,
    track TEXT NOT NULL,
    channel TEXT NOT NULL,
    batch INTEGER NOT NULL
) WITHOUT ROWID;
"""
FIELDS = ("run_id", "account_id", "asset", "amount", "round", "track", "channel")


@dataclass(frozen=True, slots=True)
class Payout:
    """One payout to record (amount as an exact decimal string)."""

    run_id: str
    account_id: str
    asset: str
    amount: str
    round: str
    track: str
    channel: str
    id: str = ""
    """The id from :mod:`caspr.payouts` (scoped by exchange and snapshot); when empty, derived
    there from the run alone."""

    @property
    def payout_id(self) -> str:
        """Deterministic: the same payout of the same run always has the same id."""
        if self.id:
            return self.id
        return payouts.payout_id(
            payouts.Scope("", "", self.run_id), self.account_id, self.asset, self.round, self.track
        )


@dataclass(frozen=True, slots=True)
class RecordResult:
    """How many payouts were new and how many were already there."""

    recorded: int
    already: int


def _chunks(items: Iterable[Payout], size: int) -> Iterator[list[Payout]]:
    chunk: list[Payout] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def connect(path: Path) -> sqlite3.Connection:
    """Open (and create) the ledger; WAL so a crash never corrupts committed batches."""
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.executescript(SCHEMA)
    return con


def record(path: Path, payouts: Iterable[Payout], batch_size: int = 10_000) -> RecordResult:
    """Record ``payouts`` in batches; each batch is one transaction.

    Raises:
        IdempotencyConflict: a payout id already recorded with a different body.
    """
    con = connect(path)
    recorded = already = 0
    planned: dict[tuple[str, str], Decimal] = {}
    try:
        for number, chunk in enumerate(_chunks(_summed(payouts, planned), batch_size)):
            con.execute("BEGIN IMMEDIATE")
            try:
                for payout in chunk:
                    row = (payout.payout_id, *(getattr(payout, f) for f in FIELDS), number)
                    cursor = con.execute("INSERT OR IGNORE INTO payouts VALUES (?,?,?,?,?,?,?,?,?)", row)
                    if cursor.rowcount:
                        recorded += 1
                        continue
                    _same_or_conflict(con, payout)
                    already += 1
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        check_ledger(con, planned)
    finally:
        con.close()
    return RecordResult(recorded, already)


def _summed(payouts: Iterable[Payout], planned: dict[tuple[str, str], Decimal]) -> Iterator[Payout]:
    """Pass the payouts through, adding each amount to its (run, asset) total."""
    for payout in payouts:
        key = (payout.run_id, payout.asset)
        planned[key] = planned.get(key, Decimal(0)) + Decimal(payout.amount)
        yield payout


def check_ledger(con: sqlite3.Connection, planned: dict[tuple[str, str], Decimal]) -> None:
    """Σ recorded = Σ planned for every run and asset of the plan just recorded.

    Raises:
        InvariantViolation: ``ledger-equals-plan``, naming the run and asset (a payout of the run
            that the plan does not have, or a recorded amount that differs from the plan's).
    """
    runs = sorted({run for run, _ in planned})
    recorded: dict[tuple[str, str], Decimal] = {}
    for run in runs:
        for asset, amount in con.execute("SELECT asset, amount FROM payouts WHERE run_id = ?", (run,)):
            recorded[(run, asset)] = recorded.get((run, asset), Decimal(0)) + Decimal(amount)
    for key in sorted(set(planned) | set(recorded)):
        want, got = planned.get(key, Decimal(0)), recorded.get(key, Decimal(0))
        if want != got:
            raise InvariantViolation(
                "ledger-equals-plan", f"run {key[0]}, {key[1]}: recorded {got} but the plan pays {want}"
            )


def _same_or_conflict(con: sqlite3.Connection, payout: Payout) -> None:
    stored = con.execute(
        f"SELECT {', '.join(FIELDS)} FROM payouts WHERE payout_id = ?",
        (payout.payout_id,),
    ).fetchone()
    for name, value in zip(FIELDS, stored, strict=True):
        if getattr(payout, name) != value:
            raise IdempotencyConflict(payout.payout_id, name)


def count(path: Path) -> int:
    """How many payouts the ledger holds."""
    con = connect(path)
    try:
        return int(con.execute("SELECT count(*) FROM payouts").fetchone()[0])
    finally:
        con.close()
