"""Write an incident run's files atomically: payouts.csv and summary.json, or nothing."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pyarrow.csv as pacsv

from caspr.compensation import CompensationResult


def write(out: Path, result: CompensationResult) -> None:
    """OUT/payouts.csv (one row per customer and asset) and OUT/summary.json."""
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        rows = result.payouts.sort_by([("account_id", "ascending"), ("asset", "ascending")])
        pacsv.write_csv(rows, work / "payouts.csv", write_options=pacsv.WriteOptions(quoting_style="needed"))
        (work / "summary.json").write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
