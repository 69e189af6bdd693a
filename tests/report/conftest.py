"""A generated exchange, its proof of liabilities and its reports, made once for the report tests."""

from __future__ import annotations

from typing import Any

import pytest

from caspr import report
from caspr.custody import por
from caspr.snapshot.generator import generate
from caspr.snapshot.loader import load_snapshot

STRESS_YEARS = 20_000


@pytest.fixture(scope="package")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A generated 2,000-account Japanese exchange, its PoR root, report, and both renderings."""
    base = tmp_path_factory.mktemp("report")
    folder = base / "snapshot"
    generate(folder, 2000, 7, "jp-large", "csv")
    snapshot = load_snapshot(folder)
    root = por.build(snapshot, base / "por", seed=3).root
    built = report.build(
        snapshot, por_root=report.load_por_root(base / "por", snapshot), stress_years=STRESS_YEARS
    )
    pages = {}
    for lang in ("en", "ja"):
        out = base / f"report-{lang}.html"
        report.write_snapshot(out, built, lang)
        pages[lang] = out.read_text(encoding="utf-8")
    return {"base": base, "snapshot": snapshot, "report": built, "root": root, "pages": pages}
