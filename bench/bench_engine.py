"""Generation and engine aggregates at N accounts, beside pandas and the raw DuckDB floor.

Workload: `caspr generate --profile jp-large --format parquet` with N accounts (about 2.8
balance rows per account), then the full set of engine aggregates (liabilities per
asset, holdings per asset x storage x owner, trailing volumes, valuation). References,
measured in the same run on the same Parquet file:
  * floor  - one raw DuckDB `SELECT asset, sum(amount) ... GROUP BY asset`;
  * pandas - a straightforward pandas implementation of the liabilities aggregate with
             Decimal amounts (object dtype), as a team without caspr would write it.
Generation runs in a child process so its peak memory (ru_maxrss) is its own.
Times are medians of --repeat runs.

Usage: python bench/bench_engine.py --accounts 1000000 [--repeat 3] [--skip-pandas]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from caspr.engine import Engine
from caspr.snapshot.loader import load_snapshot


def timed(fn, repeat):
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument("--skip-pandas", action="store_true")
    args = parser.parse_args()
    folder = args.out / f"jp-large-{args.accounts}"
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "caspr.cli.main",
            "generate",
            "--accounts",
            str(args.accounts),
            "--seed",
            "1",
            "--format",
            "parquet",
            "--out",
            str(folder),
            "--force",
        ],
        check=True,
    )
    generation = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    snapshot = load_snapshot(folder) if args.accounts <= 1_000_000 else None
    if snapshot is None:  # validation of 30M rows is measured separately; skip it here
        from caspr.snapshot import loader

        out, snap = loader._collect(folder)  # noqa: SLF001
        snapshot = snap
    rows = snapshot.tables["balances"].rows
    parquet = str(folder / "balances.parquet")

    def engine_all():
        engine = Engine(snapshot)
        engine.liabilities()
        engine.holdings()
        engine.trailing_volumes()
        return engine.exposure()

    def floor():
        with duckdb.connect() as con:
            return con.sql(
                f"SELECT asset, sum(amount) FROM read_parquet('{parquet}') GROUP BY asset"
            ).fetchall()

    def pandas_baseline():
        import pandas as pd

        frame = pd.read_parquet(parquet, columns=["asset", "amount"])  # decimals arrive as Decimal objects
        return frame.groupby("asset")["amount"].sum()

    engine_s, exposure = timed(engine_all, args.repeat)
    floor_s, floor_rows = timed(floor, args.repeat)
    liabilities = {a.asset: a.liabilities for a in exposure.assets}
    assert {a: v for a, v in floor_rows} == liabilities, "engine and floor disagree"
    print(f"workload: {args.accounts:,} accounts, {rows:,} balance rows (jp-large, parquet)")
    print(f"generation: {generation:.1f} s, peak memory {peak_mb:,.0f} MB")
    print(f"engine (all aggregates): {engine_s:.3f} s")
    print(f"floor (raw DuckDB GROUP BY asset): {floor_s:.3f} s  -> engine/floor = {engine_s / floor_s:.2f}x")
    if not args.skip_pandas:
        pandas_s, sums = timed(pandas_baseline, 1)
        assert {str(k): v for k, v in sums.items()} == liabilities, "pandas and engine disagree"
        print(
            f"pandas + Decimal (liabilities only): {pandas_s:.1f} s -> pandas/engine = {pandas_s / engine_s:.1f}x"
        )


if __name__ == "__main__":
    main()
