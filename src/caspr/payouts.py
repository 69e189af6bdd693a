"""Which payouts a run produces, and what each payout is called: decided here, once.

The command line (``caspr distribute|incident --ledger``), the service's jobs and
``POST /api/v1/payouts``, and the compensation payout plan all call these functions; none
derives a payout id or filters a result on its own.

**Identity.** A payout id is SHA-256 over the exchange, the snapshot's content digest, the
run, the account, the asset, the round and the track. Two exchanges that share account ids,
an incident id or a plan can never produce the same id, so a ledger shared by several
exchanges (the service's database) can neither drop one exchange's payout as a "duplicate"
of another's nor tell one exchange that another has paid someone (issue 13, fault 1).

**Which rows are payouts.**

* In-kind distribution: every row not held with an amount above zero (a held share is
  reserved, not paid; PSA Art. 63-19-2 and the plan's holds).
* Fiat rounds: every payment whose status is ``paid``.
* Compensation: every row with an amount above zero except IOU rows (the haircut policy:
  the customer receives a claim for the value of the loss, not money; Bitfinex 2016).

Zero amounts are never payouts.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from caspr.errors import InputError, Problem

if TYPE_CHECKING:
    from caspr.compensation import CompensationResult
    from caspr.distribution.inkind import InKindResult
    from caspr.distribution.rounds import RoundsResult

ID_VERSION = "caspr-payout-2"
"""Part of every id: a change of derivation can never collide with ids made the old way."""

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose run a payout belongs to: the exchange, the snapshot it was computed from, the run."""

    exchange_id: str
    snapshot: str
    """The snapshot's content digest (:func:`snapshot_digest`); empty for a payout recorded
    directly without a snapshot."""
    run_id: str


@dataclass(frozen=True, slots=True)
class PlannedPayout:
    """One payout a run produces (the amount exact, above zero)."""

    payout_id: str
    account_id: str
    asset: str
    amount: Decimal
    round: str
    track: str


def payout_id(scope: Scope, account_id: str, asset: str, round_: str = "", track: str = "") -> str:
    """The payout's id: the same payout of the same run of the same snapshot, the same id."""
    key = [ID_VERSION, scope.exchange_id, scope.snapshot, scope.run_id, account_id, asset, round_, track]
    return hashlib.sha256(json.dumps(key, ensure_ascii=False).encode()).hexdigest()


def run_id(exchange_id: str, snapshot: str, parameters: object) -> str:
    """A run id for a plan or an incident: the same inputs give the same run, others never do.

    Scoped by exchange and snapshot digest, so another exchange cannot compute (let alone
    occupy) the run ids of this one without its snapshot's content.
    """
    text = json.dumps([exchange_id, snapshot, parameters], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def snapshot_digest(folder: Path) -> str:
    """SHA-256 over a snapshot folder: each regular file's name and content, by name.

    Files are streamed (never read whole) and opened without following links; anything
    that is not a regular file (a link, a FIFO, a device) is refused rather than read.

    Raises:
        InputError: ``folder`` is not a folder, or holds something other than regular files.
    """
    if not folder.is_dir() or folder.is_symlink():
        raise InputError([Problem(folder.name, None, None, "not a folder")])
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        info = path.lstat()
        if stat.S_ISDIR(info.st_mode):
            continue
        if not stat.S_ISREG(info.st_mode):
            raise InputError([Problem(path.name, None, None, "not a regular file (a link, pipe or device)")])
        digest.update(path.name.encode())
        digest.update(_file_digest(path))
    return digest.hexdigest()


def _file_digest(path: Path) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError([Problem(path.name, None, None, "not a regular file (a link, pipe or device)")])
        inner = hashlib.sha256()
        while chunk := os.read(fd, _CHUNK):
            inner.update(chunk)
        return inner.digest()
    finally:
        os.close(fd)


def distribution_payouts(scope: Scope, result: InKindResult | RoundsResult) -> Iterator[PlannedPayout]:
    """The payouts a distribution produces: unheld in-kind shares above zero, or paid round payments."""
    from caspr.distribution.inkind import InKindResult  # noqa: PLC0415 - keeps this module light

    if isinstance(result, InKindResult):
        rows = result.rows
        for account, asset, amount, held in zip(
            rows["account_id"].to_pylist(),
            rows["asset"].to_pylist(),
            rows["distributed_amount"].to_pylist(),
            rows["held"].to_pylist(),
            strict=True,
        ):
            value = Decimal(amount)
            if not held and value > 0:
                yield PlannedPayout(
                    payout_id(scope, account, asset, "in_kind", "in_kind"),
                    account,
                    asset,
                    value,
                    "in_kind",
                    "in_kind",
                )
        return
    for p in result.payments:
        if p.status == "paid" and p.payout_amount > 0:
            yield PlannedPayout(
                payout_id(scope, p.account_id, p.payout_asset, p.round, p.track),
                p.account_id,
                p.payout_asset,
                p.payout_amount,
                p.round,
                p.track,
            )


def compensation_ids(scope: Scope, accounts: list[str], assets: list[str]) -> list[str]:
    """The ids of a compensation plan's rows (one per account and asset)."""
    return [
        payout_id(scope, a, s, "compensation", "compensation") for a, s in zip(accounts, assets, strict=True)
    ]


def compensation_payouts(result: CompensationResult) -> Iterator[PlannedPayout]:
    """The payouts an incident's compensation produces: rows above zero that are not IOUs."""
    table = result.payouts
    for pid, account, asset, amount, kind in zip(
        table["payout_id"].to_pylist(),
        table["account_id"].to_pylist(),
        table["compensation_asset"].to_pylist(),
        table["compensation_amount"].to_pylist(),
        table["compensation"].to_pylist(),
        strict=True,
    ):
        value = Decimal(amount)
        if kind != "iou" and value > 0:
            yield PlannedPayout(pid, account, asset, value, "compensation", "compensation")
