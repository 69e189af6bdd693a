"""In-kind distribution of N claims across 10 assets, beside pandas + Decimal, same run.

Workload: a snapshot of N/10 accounts each holding 10 assets (scale 8, heavy-tailed
balances), every pool short by ~30% so every claim is cut and the largest-remainder rule
runs on every asset. caspr: `distribute_in_kind` (read, allocate, format). Baseline: a
straightforward pandas implementation of the same rule on the same Parquet file with
Decimal amounts (floor each share, then the leftover units by largest remainder, ties by
account id). The script asserts both give identical results and prints both times.

Fiat mode (``--mode fiat`` or ``both``): the same claims valued at price 1, an estate of 70%
of the claims and no rounds, so one final round pays every account pro rata (Mt. Gox's final
formula): value, pay, check the invariants, and write the payment files. No baseline: the
figure shows that fiat mode is linear (issue #15 measured 5k accounts 3.9 s, 20k 25.4 s).

Usage: python bench/bench_distribution.py --claims 10000000 [--mode in_kind|fiat|both]
"""

from __future__ import annotations

import argparse
import time
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from caspr.distribution.inkind import distribute_in_kind
from caspr.distribution.output import write_rounds
from caspr.distribution.plan import Plan
from caspr.distribution.rounds import distribute_rounds
from caspr.snapshot import loader

ASSETS = [f"C{i}" for i in range(10)]


def workload(folder: Path, claims: int) -> None:
    if (folder / "exchange.yaml").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    accounts = claims // len(ASSETS)
    rng = np.random.default_rng(7)
    ids = pa.array([f"U{i:08d}" for i in range(accounts)])
    parts, pools = [], {}
    for code in ASSETS:
        units = np.maximum(1, rng.lognormal(18, 2, accounts)).astype(np.int64)
        as_decimal = pa.Array.from_buffers(
            pa.decimal128(38, 8), accounts, [None, pa.array(units).cast(pa.decimal128(38, 0)).buffers()[1]]
        )
        parts.append(
            pa.table(
                {
                    "account_id": ids,
                    "asset": pa.array([code] * accounts),
                    "amount": as_decimal.cast(pa.decimal128(38, 18)),
                }
            )
        )
        pools[code] = Decimal(int(units.sum()) * 7 // 10).scaleb(-8)
    pq.write_table(pa.concat_tables(parts), folder / "balances.parquet")
    pq.write_table(
        pa.table({"asset": ASSETS, "kind": ["crypto"] * 10, "scale": ["8"] * 10, "price": ["1"] * 10}),
        folder / "assets.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "wallet_id": [f"w{c}" for c in ASSETS],
                "asset": ASSETS,
                "storage": ["cold"] * 10,
                "owner": ["customer"] * 10,
                "amount": [f"{pools[c]:f}" for c in ASSETS],
            }
        ),
        folder / "wallets.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "date": pa.array([], pa.string()),
                "category": pa.array([], pa.string()),
                "notional": pa.array([], pa.string()),
            }
        ),
        folder / "volumes.parquet",
    )
    (folder / "exchange.yaml").write_text(
        yaml.safe_dump(
            {
                "id": "bench",
                "name": "bench",
                "jurisdiction": "JP",
                "reporting_currency": "USD",
                "as_of": "2026-09-30T00:00:00+00:00",
            }
        )
    )


def pandas_baseline(folder: Path, pools: dict[str, Decimal]) -> dict[tuple[str, str], str]:
    import pandas as pd

    frame = pd.read_parquet(folder / "balances.parquet")  # amounts arrive as Decimal objects
    quantum = Decimal("0.00000001")
    out = {}
    for code, group in frame.groupby("asset"):
        group = group.copy()
        total = sum(group["amount"], Decimal(0))
        pool = pools[code]
        exact = group["amount"].map(lambda c: c * pool / total)
        group["share"] = exact.map(lambda x: x.quantize(quantum, rounding=ROUND_FLOOR))
        group["rem"] = exact - group["share"]
        left = int((pool - sum(group["share"], Decimal(0))) / quantum)
        ranked = group.sort_values(["rem", "account_id"], ascending=[False, True])
        group.loc[ranked.index[:left], "share"] += quantum
        for account, share in zip(group["account_id"], group["share"], strict=True):
            out[(account, code)] = f"{share:.8f}"
    return out


def fiat(snapshot: loader.Snapshot, out: Path) -> None:
    """Fiat mode: every claim valued, one final round paying the estate pro rata, files written."""
    import resource

    wallets = pq.read_table(snapshot.root / "wallets.parquet")["amount"].to_pylist()
    estate = sum((Decimal(a) for a in wallets), Decimal(0)).quantize(Decimal(1), rounding=ROUND_FLOOR)
    start = time.perf_counter()
    result = distribute_rounds(snapshot, Plan(mode="fiat", estate=estate, holds={"kyc": [], "status": []}))
    middle = time.perf_counter()
    write_rounds(out, result, {})
    end = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"caspr distribute_rounds (fiat): {len(result.claims):,} accounts, {len(result.payments):,} payments: "
        f"{middle - start:.1f} s, + writing the files {end - middle:.1f} s (peak RSS so far {peak:,.0f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--mode", choices=("in_kind", "fiat", "both"), default="both")
    args = parser.parse_args()
    folder = args.out / f"distribution-{args.claims}"
    workload(folder, args.claims)
    _, snapshot = loader._collect(folder)  # noqa: SLF001 - written by this script; skip a second validation
    if args.mode in ("fiat", "both"):
        fiat(snapshot, args.out / f"fiat-{args.claims}")
    if args.mode == "fiat":
        return
    start = time.perf_counter()
    result = distribute_in_kind(snapshot, Plan(include_guarantee=False, holds={"kyc": [], "status": []}))
    ours = time.perf_counter() - start
    print(f"workload: {result.rows.num_rows:,} claims across {len(ASSETS)} assets, every pool 30% short")
    print(f"caspr distribute_in_kind: {ours:.1f} s")
    if args.skip_pandas:
        return
    pools = {s.asset: Decimal(s.pool).scaleb(-8) for s in result.summaries}
    start = time.perf_counter()
    expected = pandas_baseline(folder, pools)
    theirs = time.perf_counter() - start
    got = {
        (a, s): d
        for a, s, d in zip(
            result.rows["account_id"].to_pylist(),
            result.rows["asset"].to_pylist(),
            result.rows["distributed_amount"].to_pylist(),
            strict=True,
        )
    }
    assert got == expected, "caspr and the pandas baseline disagree"
    print(
        f"pandas + Decimal baseline: {theirs:.1f} s -> baseline / caspr = {theirs / ours:.1f}x (identical results)"
    )


if __name__ == "__main__":
    main()
