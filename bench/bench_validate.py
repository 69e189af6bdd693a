"""Snapshot validation (`caspr validate`, and the first step of every command) at N accounts.

Workload: `caspr generate --profile jp-large --format parquet` with N accounts (balances
≈ 2.8 rows per account, amounts stored as DECIMAL(38, 18)). Timed, medians of --repeat, in
the same process:
  * caspr: `loader.validate`, every check, Parquet DECIMAL amounts checked as numbers;
  * the text path (the baseline: how caspr validated until 2026-12-02, and how it still
    checks CSV and text columns): the same checks with every Parquet column cast to text;
  * the floor: DuckDB reading the same tables into Arrow with no check at all.
Peak memory of each is measured apart (Linux: the process's peak is reset in between).

Usage: python bench/bench_validate.py --accounts 1000000 [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import duckdb

from caspr.snapshot import loader
from workloads import jp_large, peak_gb, reset_peak


def timed(run: Any, repeat: int) -> tuple[float, float]:
    seconds, peaks = [], []
    for _ in range(repeat):
        reset_peak()
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
        peaks.append(peak_gb())
    return statistics.median(seconds), max(peaks)


def floor(folder: Path) -> None:
    with duckdb.connect() as con:
        for path in sorted(folder.glob("*.parquet")):
            con.sql(f"SELECT * FROM read_parquet('{path}')").to_arrow_table()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    jp_large(args.accounts, args.out)
    folder = args.out / f"jp-large-{args.accounts}"

    def caspr() -> None:
        assert loader.validate(folder) == []

    def text_path() -> None:
        typed = loader._numeric_columns  # noqa: SLF001 - the baseline turns the typed path off
        loader._numeric_columns = lambda spec: set()  # noqa: SLF001
        try:
            assert loader.validate(folder) == []
        finally:
            loader._numeric_columns = typed  # noqa: SLF001

    rows = loader.pq.read_metadata(folder / "balances.parquet").num_rows
    caspr_s, caspr_gb = timed(caspr, args.repeat)
    text_s, text_gb = timed(text_path, args.repeat)
    floor_s, floor_gb = timed(lambda: floor(folder), args.repeat)
    print(
        f"workload: jp-large {args.accounts:,} accounts, {rows:,} balance rows (parquet); medians of {args.repeat}"
    )
    print(f"floor (DuckDB reads every table, no checks): {floor_s:.2f} s, peak {floor_gb:.1f} GB")
    print(f"text path (every column as text, the baseline): {text_s:.2f} s, peak {text_gb:.1f} GB")
    print(
        f"caspr validate: {caspr_s:.2f} s, peak {caspr_gb:.1f} GB -> {text_s / caspr_s:.1f}x faster than the "
        f"text path, {caspr_s / floor_s:.1f}x the floor"
    )


if __name__ == "__main__":
    main()
