"""Issue 17: machine-readable outputs keep every fact and every digit."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from tests.cli.test_exit_codes import caspr
from tests.conftest import write_snapshot


def test_assess_csv_includes_the_findings(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "s")
    result = caspr("assess", snap, "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    findings = [r for r in rows if r["part"].startswith("finding:")]
    document = json.loads(caspr("assess", snap, "--format", "json").stdout)
    expected = {
        (a["regime"], f["rule"], f["severity"], f["message"])
        for a in document["assessments"]
        for f in a["findings"]
    }
    assert expected  # the tiny exchange has findings (a proposed rule, a funding shortfall...)
    # a finding row: part "finding:SEVERITY", the rule in component, the message in formula
    got = {(r["regime"], r["component"], r["part"].split(":", 1)[1], r["formula"]) for r in findings}
    assert got == expected
    assert any(not r["part"].startswith("finding:") for r in rows)  # the components are there too


def test_parquet_beside_csv_keeps_every_digit_as_decimal(tmp_path: Path) -> None:
    # ETH at scale 18: 10.000000000000000001 has 20 significant digits, more than a DOUBLE holds
    snap = write_snapshot(tmp_path / "s")
    out = tmp_path / "d"
    result = caspr("distribute", snap, "--out", out, "--parquet")
    assert result.returncode == 0, result.stderr
    schema = pq.read_schema(out / "distributions.parquet")
    assert str(schema.field("distributed_amount").type) == "decimal128(38, 18)"
    from_csv = {
        (r["account_id"], r["asset"]): Decimal(r["claim_amount"])
        for r in csv.DictReader((out / "distributions.csv").open(encoding="utf-8"))
    }
    from_parquet = {
        (a, s): c
        for a, s, c in duckdb.sql(
            f"SELECT account_id, asset, claim_amount FROM '{out / 'distributions.parquet'}'"
        ).fetchall()
    }
    assert from_parquet == from_csv
    assert from_parquet[("A2", "ETH")] == Decimal("10")
    assert from_parquet[("A3", "ETH")] == Decimal("0.000000000000000001")
    # a DOUBLE column would sum to 10.0: the 10^-18 is below its precision at 10
    total = duckdb.sql(f"SELECT SUM(claim_amount) FROM '{out / 'distributions.parquet'}' WHERE asset = 'ETH'")
    assert total.fetchall()[0][0] == Decimal("10.000000000000000001")
