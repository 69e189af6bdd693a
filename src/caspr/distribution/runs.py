"""The payout ledger's view of a distribution or compensation run.

Which payouts a run produces and what each is called are decided in :mod:`caspr.payouts`
(the service's jobs call the same functions); this module only turns them into ledger rows
(:mod:`caspr.distribution.batches`) for the ``distribute`` and ``incident`` commands and the
demo. The same snapshot and plan always give the same run and payout ids, so a rerun is a
no-op.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from caspr import payouts
from caspr.distribution import batches
from caspr.distribution.plan import Plan
from caspr.money import canonical
from caspr.snapshot.loader import Snapshot

if TYPE_CHECKING:
    from caspr.compensation import CompensationResult
    from caspr.distribution.inkind import InKindResult
    from caspr.distribution.rounds import RoundsResult


def plan_scope(snapshot: Snapshot, plan: Plan) -> payouts.Scope:
    """The run of ``plan`` over ``snapshot``: its exchange, its content digest, the plan's run id."""
    digest = payouts.snapshot_digest(snapshot.root)
    run = payouts.run_id(snapshot.exchange.id, digest, {"plan": plan.model_dump(mode="json")})
    return payouts.Scope(snapshot.exchange.id, digest, run)


def _row(run_id: str, p: payouts.PlannedPayout, channel: str) -> batches.Payout:
    return batches.Payout(
        run_id, p.account_id, p.asset, canonical(p.amount), p.round, p.track, channel, p.payout_id
    )


def distribution_payouts(
    scope: payouts.Scope, result: InKindResult | RoundsResult, channel: str
) -> Iterator[batches.Payout]:
    """The ledger rows of a distribution (see :func:`caspr.payouts.distribution_payouts`)."""
    for p in payouts.distribution_payouts(scope, result):
        yield _row(scope.run_id, p, channel)


def incident_payouts(result: CompensationResult) -> Iterator[batches.Payout]:
    """The ledger rows of a compensation (see :func:`caspr.payouts.compensation_payouts`)."""
    for p in payouts.compensation_payouts(result):
        yield _row(result.incident.id, p, "direct")
