"""Write a distribution run's files atomically: all of them or none."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from caspr.atomic import atomic_folder
from caspr.distribution.inkind import InKindResult
from caspr.distribution.rounds import RoundsResult
from caspr.money import canonical

INVARIANTS = [
    "paid + held + undistributed = pool (per asset; fiat: the estate, when the plan gives one)",
    "no account above its claim (paid + held <= claim)",
    "holds unpaid (a held account's allocation is in held_amount, never in distributed_amount)",
    "no negative amount",
]
"""Checked on every run before anything is written (:func:`caspr.invariants.check_distribution`)."""


def summary_document(result: InKindResult, plan: dict[str, Any]) -> dict[str, Any]:
    """summary.json: per-asset pool, claims, distributed, remainder, recovery; rounding; plan."""
    return {
        "record_date": result.record_date.isoformat(),
        "mode": "in_kind",
        "rounding": result.rounding,
        "delivery": result.successor or "direct",
        "assets": [s.to_dict() for s in result.summaries],
        "held_accounts": result.holds.num_rows,
        "cash_proceeds": {a: canonical(v) for a, v in sorted(result.cash.items())},
        "invariants": INVARIANTS,
        "plan": plan,
    }


def write_in_kind(out: Path, result: InKindResult, plan: dict[str, Any]) -> None:
    """OUT/distributions.csv, holds.csv, summary.json and summary.csv, atomically."""
    options = pacsv.WriteOptions(quoting_style="needed")
    with atomic_folder(out) as work:
        pacsv.write_csv(
            result.rows.select(["account_id", "asset", "claim_amount", "distributed_amount", "held_amount"]),
            work / "distributions.csv",
            write_options=options,
        )
        pacsv.write_csv(result.holds, work / "holds.csv", write_options=options)
        document = summary_document(result, plan)
        (work / "summary.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        pacsv.write_csv(pa.Table.from_pylist(document["assets"]), work / "summary.csv", write_options=options)
        if result.cash:
            held = set(result.holds["account_id"].to_pylist())
            accounts = sorted(result.cash)
            pacsv.write_csv(
                pa.table(
                    {
                        "account_id": accounts,
                        "cash_amount": [
                            canonical(Decimal(0) if a in held else result.cash[a]) for a in accounts
                        ],
                        "held_amount": [
                            canonical(result.cash[a] if a in held else Decimal(0)) for a in accounts
                        ],
                    }
                ),
                work / "cash.csv",
                write_options=options,
            )


def write_rounds(out: Path, result: RoundsResult, plan: dict[str, Any]) -> None:
    """Fiat mode: distributions.csv (claims valued), payments.csv, summary.json, atomically."""
    options = pacsv.WriteOptions(quoting_style="needed")
    with atomic_folder(out) as work:
        accounts = sorted(result.claims)
        pacsv.write_csv(
            pa.table(
                {
                    "account_id": accounts,
                    "asset": [result.currency] * len(accounts),
                    "claim_amount": [canonical(result.claims[a].total) for a in accounts],
                    "distributed_amount": [canonical(result.paid(a)) for a in accounts],
                    "held_amount": [canonical(result.held(a)) for a in accounts],
                }
            ),
            work / "distributions.csv",
            write_options=options,
        )
        payments = sorted(result.payments, key=lambda p: (p.account_id, str(p.date), p.round, p.track))
        pacsv.write_csv(
            pa.table(
                {
                    "account_id": [p.account_id for p in payments],
                    "round": [p.round for p in payments],
                    "date": [p.date.isoformat() if p.date else "" for p in payments],
                    "track": [p.track for p in payments],
                    "amount": [canonical(p.amount) for p in payments],
                    "status": [p.status for p in payments],
                    "payout_asset": [p.payout_asset for p in payments],
                    "payout_amount": [canonical(p.payout_amount) for p in payments],
                }
            ),
            work / "payments.csv",
            write_options=options,
        )
        document = {**result.to_dict(), "invariants": INVARIANTS, "plan": plan}
        (work / "summary.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
