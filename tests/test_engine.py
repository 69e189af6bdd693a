"""Engine aggregates against hand-computed sums and a plain-Python reference."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal

from caspr.engine import Engine, Holding
from caspr.snapshot.generator import generate
from caspr.snapshot.loader import load_snapshot


def test_liabilities_and_holdings_of_the_tiny_snapshot(tiny):
    engine = Engine(load_snapshot(tiny))
    liabilities = engine.liabilities()
    # BTC 1.5 + 0.25000001; ETH 10 + 1e-18 (exact at scale 18); JPY 100000 + 5
    assert liabilities["BTC"].amount == Decimal("1.75000001")
    assert liabilities["BTC"].accounts == 2
    assert liabilities["ETH"].amount == Decimal("10.000000000000000001")
    assert liabilities["JPY"].amount == Decimal("100005")
    holdings = engine.holdings()
    assert Holding("BTC", "hot", "company", Decimal(2), 1) in holdings
    assert Holding("BTC", "cold", "customer", Decimal("1.70000001"), 1) in holdings


def test_exposure_values_in_the_reporting_currency(tiny):
    exposure = Engine(load_snapshot(tiny)).exposure()
    btc = next(a for a in exposure.assets if a.asset == "BTC")
    assert btc.customer_hot == Decimal("0.05")
    assert btc.guarantee == Decimal("0.05")
    assert btc.company == Decimal(2)
    assert btc.customer_held == Decimal("1.75000001")
    # 1.75000001 BTC × ¥15,000,000 = ¥26,250,000.15; ETH 10.000000000000000001 × ¥500,000
    assert btc.liabilities_value == Decimal("26250000.15")
    assert exposure.total("liabilities") == Decimal("26250000.15") + Decimal("5000000.0000000000005")
    assert exposure.total("customer_hot") == Decimal("750000")


def test_volumes_over_a_window(tiny):
    engine = Engine(load_snapshot(tiny))
    # trailing 365 days before as_of 2026-09-30: 2025-09-30 .. 2026-09-29
    assert engine.trailing_volumes() == {"margin": Decimal(7000), "spot": Decimal(5000)}
    assert engine.volumes(dt.date(2025, 9, 29), dt.date(2025, 9, 30)) == {"spot": Decimal(3000)}


def test_engine_matches_a_plain_python_reference(tmp_path):
    out = generate(tmp_path / "g", 20_000, seed=9).out
    expected: dict[str, Decimal] = {}
    with (out / "balances.csv").open() as handle:
        for row in csv.DictReader(handle):
            expected[row["asset"]] = expected.get(row["asset"], Decimal(0)) + Decimal(row["amount"])
    got = {code: liability.amount for code, liability in Engine(load_snapshot(out)).liabilities().items()}
    assert got == expected
