"""Incident compensation plan for an N-account exchange (time recorded; issue #5).

Workload: the `jp-large` synthetic exchange at N accounts (parquet; generated if absent), a
cold-wallet compromise taking 20% of the customers' BTC cold wallet, compensated in kind
(DMM-style) through the full waterfall. Baseline in the same run: one raw DuckDB pass over
the balances (`SELECT asset, count(*), sum(amount) ... GROUP BY asset`), the floor for
anything that must read every balance. Prints both times and the ratio.

Usage: python bench/bench_incident.py --accounts 10000000
"""

from __future__ import annotations

import argparse
import time
from decimal import ROUND_FLOOR
from pathlib import Path

import duckdb

from caspr.compensation import compensate
from caspr.compensation.incident import Incident
from caspr.engine import Engine
from caspr.money import quantize
from workloads import jp_large


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    snapshot, _ = jp_large(args.accounts, args.out)
    folder = snapshot.root
    wallets = Engine(snapshot).table("wallets").to_pyarrow().to_pylist()
    cold = next(
        w for w in wallets if w["asset"] == "BTC" and w["storage"] == "cold" and w["owner"] == "customer"
    )
    incident = Incident.model_validate(
        {
            "id": "bench",
            "detected_at": "2026-10-01T00:00:00Z",
            "kind": "cold_wallet_hack",
            "outflows": [
                {
                    "wallet": cold["wallet_id"],
                    "asset": "BTC",
                    "amount": f"{quantize(cold['amount'] / 5, 8, ROUND_FLOOR):f}",
                }
            ],
            "compensation": {
                "policy": "make_whole_in_kind",
                "funding": {"loans": [{"lender": "group", "amount": "100000000000000"}]},
            },
        }
    )
    start = time.perf_counter()
    result = compensate(snapshot, incident)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    with duckdb.connect() as con:
        con.sql(
            f"SELECT asset, count(*), sum(amount) FROM read_parquet('{folder / 'balances.parquet'}') "
            "GROUP BY asset"
        ).fetchall()
    floor = time.perf_counter() - start
    print(
        f"workload: {args.accounts:,} accounts, {snapshot.tables['balances'].rows:,} balances; "
        f"{result.payouts.num_rows:,} payout rows (BTC holders)"
    )
    print(f"caspr compensate (allocation, waterfall, plan, replenishment): {ours:.1f} s")
    print(
        f"floor (one raw DuckDB pass over the balances): {floor:.2f} s -> caspr/floor = {ours / floor:.0f}x"
    )


if __name__ == "__main__":
    main()
