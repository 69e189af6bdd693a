"""Write an incident run's files atomically: payouts.csv and summary.json, or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.csv as pacsv

from caspr.atomic import atomic_folder
from caspr.compensation import CompensationResult


def write(out: Path, result: CompensationResult) -> None:
    """OUT/payouts.csv (one row per customer and asset) and OUT/summary.json."""
    with atomic_folder(out) as work:
        rows = result.payouts.sort_by([("account_id", "ascending"), ("asset", "ascending")])
        pacsv.write_csv(rows, work / "payouts.csv", write_options=pacsv.WriteOptions(quoting_style="needed"))
        (work / "summary.json").write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
