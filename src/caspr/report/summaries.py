"""Incident and distribution reports, laid out from the documents their commands already write.

An incident report reads ``CompensationResult.to_dict()`` (the incident's ``summary.json``);
a distribution report reads the distribution's ``summary.json`` and its holds (account and
reason, as :func:`caspr.distribution.inkind.hold_reasons` gives them). Only sums for
reading are made here: totals by source, by asset and by round, and the recovery rate
(funded ÷ lost, floored: a recovery is never overstated).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from caspr.money import quantize

RATE_PLACES = 4
HOLDS_LISTED = 200
"""At most this many held accounts are listed one by one (all are counted by reason)."""


def recovery(paid: Decimal, owed: Decimal) -> Decimal | None:
    """Paid ÷ owed, floored to 4 places (None when nothing is owed)."""
    return quantize(paid / owed, RATE_PLACES, ROUND_FLOOR) if owed else None


@dataclass(frozen=True, slots=True)
class Loss:
    """One asset's loss in an incident, in units and valued at the incident's price."""

    asset: str
    customers: Decimal
    company: Decimal
    price: Decimal
    basis: str
    value: Decimal | None
    """The customers' loss valued once by the library (``loss_rounding``), None where not given."""


def incident_context(summary: dict[str, Any]) -> dict[str, Any]:
    """Losses by asset, the waterfall by source and the recovery rate of an incident's summary."""
    assets = sorted(set(summary["customer_loss"]) | set(summary["company_loss"]))
    valued = summary.get("loss_rounding", {}).get("assets", {})
    losses = [
        Loss(
            a,
            Decimal(summary["customer_loss"].get(a, "0")),
            Decimal(summary["company_loss"].get(a, "0")),
            Decimal(summary["prices"][a]["price"]),
            summary["prices"][a]["basis"],
            Decimal(valued[a]["rounded"]) if a in valued else None,
        )
        for a in assets
    ]
    total, funded = Decimal(summary["total_loss"]), Decimal(summary["funded"])
    return {"losses": losses, "recovery_rate": recovery(funded, total), "recovery": recovery}


@dataclass(frozen=True, slots=True)
class RoundTotal:
    """One round (or track) of a fiat distribution: paid, held and forfeited."""

    round: str
    paid: Decimal
    held: Decimal
    forfeited: Decimal
    accounts: int


def distribution_context(
    summary: dict[str, Any], holds: dict[str, str], payments: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Recovery per asset (in kind) or per round (fiat), and holds counted by reason.

    ``payments`` (fiat mode): each with ``round``, ``status`` and ``amount``.
    """
    by_reason = sorted(Counter(holds.values()).items(), key=lambda item: (-item[1], item[0]))
    listed = sorted(holds.items())[:HOLDS_LISTED]
    rounds: list[RoundTotal] = []
    if payments:
        order: list[str] = []
        sums: dict[str, dict[str, Decimal]] = {}
        accounts: dict[str, set[str]] = {}
        for p in payments:
            key = str(p["round"])
            if key not in sums:
                order.append(key)
                sums[key] = {"paid": Decimal(0), "held": Decimal(0), "forfeited": Decimal(0)}
                accounts[key] = set()
            sums[key][p["status"]] += Decimal(p["amount"])
            accounts[key].add(str(p["account_id"]))
        rounds = [
            RoundTotal(k, sums[k]["paid"], sums[k]["held"], sums[k]["forfeited"], len(accounts[k]))
            for k in order
        ]
    record_date = dt.date.fromisoformat(summary["record_date"]) if "record_date" in summary else None
    return {
        "record_date": record_date,
        "holds_by_reason": by_reason,
        "holds_listed": listed,
        "holds_total": len(holds),
        "rounds": rounds,
        "D": Decimal,
    }
