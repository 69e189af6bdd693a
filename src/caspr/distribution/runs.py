"""Which payouts of a distribution or compensation run go to the payout ledger, and under which run id.

Shared by the ``distribute`` and ``incident`` commands and the demo, so that the same
snapshot and plan always record the same payout ids (a rerun is a no-op; see
:mod:`caspr.distribution.batches`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING

from caspr.distribution import batches
from caspr.distribution.inkind import InKindResult
from caspr.distribution.plan import Plan
from caspr.money import canonical
from caspr.snapshot.loader import Snapshot

if TYPE_CHECKING:
    from caspr.compensation import CompensationResult
    from caspr.distribution.rounds import RoundsResult


def plan_run_id(snapshot: Snapshot, plan: Plan) -> str:
    """Same snapshot and plan, same run id: a rerun records the same payout ids."""
    text = json.dumps(
        [snapshot.exchange.id, snapshot.exchange.as_of.isoformat(), plan.model_dump(mode="json")],
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def distribution_payouts(
    run_id: str, result: InKindResult | RoundsResult, channel: str
) -> Iterator[batches.Payout]:
    """The payouts actually made: in kind, every positive amount not held; in rounds, every paid one."""
    if isinstance(result, InKindResult):
        rows = result.rows
        for account, asset, amount, held in zip(
            rows["account_id"].to_pylist(),
            rows["asset"].to_pylist(),
            rows["distributed_amount"].to_pylist(),
            rows["held"].to_pylist(),
            strict=True,
        ):
            if not held and Decimal(amount) > 0:
                yield batches.Payout(run_id, account, asset, amount, "in_kind", "in_kind", channel)
        return
    for p in result.payments:
        if p.status == "paid":
            yield batches.Payout(
                run_id, p.account_id, p.payout_asset, canonical(p.payout_amount), p.round, p.track, channel
            )


def incident_payouts(result: CompensationResult) -> Iterator[batches.Payout]:
    """Every positive compensation payout, under the incident's id as run id."""
    table = result.payouts
    for payout_id, account, asset, amount in zip(
        table["payout_id"].to_pylist(),
        table["account_id"].to_pylist(),
        table["compensation_asset"].to_pylist(),
        table["compensation_amount"].to_pylist(),
        strict=True,
    ):
        if Decimal(amount) > 0:
            yield batches.Payout(
                result.incident.id, account, asset, amount, payout_id, "compensation", "direct"
            )
