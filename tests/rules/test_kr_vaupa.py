"""kr-vaupa worked examples: 80% cold and 5% hot cover, both at one-year average KRW prices; floors.

The Decree values users' virtual assets at their economic value: Σ per asset of quantity ×
average KRW price over the latest year (FSC summary of the Enforcement Decree, 2023-12-11).
The snapshots are dated 2026-09-30, so the year is 2025-09-30 to 2026-09-29 (365 days).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from caspr.errors import InputError
from caspr.rules.regime import Severity
from caspr.snapshot.loader import load_snapshot
from tests.rules.helpers import btc_snapshot, run

FIRST_DAY = dt.date(2025, 9, 30)
YEAR = 365


def history(*runs: tuple[int, str], first: dt.date = FIRST_DAY) -> str:
    """prices.csv for BTC: ``runs`` of (days, price) from ``first``, one row a day."""
    rows = ["date,asset,price"]
    day = first
    for days, price in runs:
        for _ in range(days):
            rows.append(f"{day.isoformat()},BTC,{price}")
            day += dt.timedelta(days=1)
    return "\n".join(rows) + "\n"


FLAT = history((YEAR, "100000000"))
"""A full year at the snapshot price: the average is the snapshot price."""


def kr(
    tmp_path,
    hot: str,
    cold: str,
    market: str = "krw",
    price: str = "100000000",
    prices: str | None = FLAT,
    custodian: str = "0",
    overrides: dict | None = None,
):
    root = btc_snapshot(
        tmp_path / "s",
        jurisdiction="KR",
        currency="KRW",
        fiat_scale=0,
        price=price,
        hot=hot,
        cold=cold,
        custodian=custodian,
        market=market,
        reserve='deposits:\n  - {id: r, form: deposit, amount: "3000000000", currency: KRW, held_at: B}\n',
        prices=prices,
    )
    (a,) = run(root, "kr-vaupa", overrides).assessments
    return a


def cold_finding(a):
    (cold,) = [f for f in a.findings if f.rule == "kr.vaupa.cold"]
    return cold


def test_floor_binds_for_a_small_hot_wallet(tmp_path):
    a = kr(tmp_path, hot="20", cold="80")  # hot KRW 2bn × 5% = 100m < 3bn floor
    assert a.requirement.amount == Decimal(3_000_000_000)
    assert cold_finding(a).severity is Severity.INFO  # exactly 80% cold passes
    assert not a.breaches  # KRW 3bn deposit meets it


def test_five_percent_of_hot_binds_for_a_large_hot_wallet(tmp_path):
    # hot 1000.00000001 BTC × KRW 100,000,000 = 100,000,000,001; × 5% = 5,000,000,000.05 → rounded up
    a = kr(tmp_path, hot="1000.00000001", cold="3999.99999999")
    assert a.requirement.amount == Decimal("5000000001")
    assert cold_finding(a).severity is Severity.BREACH  # just under 80% cold
    assert [f.rule for f in a.breaches] == ["kr.vaupa.cold", "kr.vaupa.cover"]


def test_coin_market_floor(tmp_path):
    a = kr(tmp_path, hot="1", cold="9", market="coin")
    assert a.requirement.amount == Decimal(500_000_000)


def test_an_upper_case_market_is_refused_not_given_the_coin_floor(tmp_path):
    # market: KRW was free text, not "krw", and got the KRW 0.5bn coin-market floor.
    with pytest.raises(InputError) as error:
        kr(tmp_path, hot="1", cold="9", market="KRW")
    (problem,) = error.value.problems
    assert (problem.file, problem.column) == ("exchange.yaml", "market")
    assert "'krw'" in problem.message


def test_no_market_gets_the_higher_floor_and_says_so(tmp_path):
    a = kr(tmp_path, hot="1", cold="9", market="")
    assert a.requirement.amount == Decimal(3_000_000_000)
    assert [f.rule for f in a.findings if f.rule == "kr.vaupa.market"] == ["kr.vaupa.market"]


def test_the_cover_uses_the_same_one_year_average_as_the_cold_test(tmp_path):
    # 73 days at KRW 60m and 292 days at KRW 85m: (73 × 60m + 292 × 85m) / 365 = 29,200m / 365
    # = KRW 80m a BTC. Economic value of the 1,000 hot BTC: 80bn; × 5% = KRW 4bn (> 3bn floor).
    # At the snapshot price (KRW 100m) it would be KRW 5bn: the two tests would value alike
    # assets differently. Cold 4,000 of 5,000 BTC = 80% exactly at either price.
    a = kr(tmp_path, hot="1000", cold="4000", prices=history((73, "60000000"), (292, "85000000")))
    assert a.requirement.amount == Decimal(4_000_000_000)
    assert "one-year average KRW prices, 2025-09-30 to 2026-09-29" in a.requirement.children[0].formula
    assert cold_finding(a).severity is Severity.INFO
    assert [f.rule for f in a.breaches] == ["kr.vaupa.cover"]  # KRW 3bn deposit < 4bn


def test_two_days_of_history_are_not_a_one_year_average(tmp_path):
    # Two days at KRW 120m: not the Decree's valuation. The cover base takes the higher of the
    # snapshot price (100m) and the partial average (120m): 1,000 × 120m × 5% = KRW 6bn.
    # The KRW 3bn deposit meets the floor, so the shortfall is a warning, not a breach; the cold
    # test (3,999.99999999 of 4,999.99999999 BTC, just under 80%) is not established.
    prices = history((2, "120000000"), first=dt.date(2026, 9, 28))
    a = kr(tmp_path, hot="1000", cold="3999.99999999", prices=prices)
    assert a.requirement.amount == Decimal(6_000_000_000)
    (valuation,) = [f for f in a.findings if f.rule == "kr.vaupa.valuation"]
    assert valuation.severity is Severity.WARNING
    assert "BTC 2 of 365 days" in valuation.message
    cold = cold_finding(a)
    assert cold.severity is Severity.WARNING
    assert "one-year average KRW prices," not in cold.message
    assert "not established" in cold.message
    (cover,) = [f for f in a.findings if f.rule == "kr.vaupa.cover"]
    assert cover.severity is Severity.WARNING
    assert not a.breaches


def test_custodian_holdings_are_not_cold_unless_configured(tmp_path):
    # hot 10, cold 75, custodian 15 BTC. By default the custodian's 15 count as not cold:
    # cold 75 / 100 = 75% < 80% is a breach, and the cover base is 10 + 15 = 25 BTC × 100m = 2.5bn.
    a = kr(tmp_path, hot="10", cold="75", custodian="15")
    assert cold_finding(a).severity is Severity.BREACH
    assert "custodian holdings counted as not cold" in cold_finding(a).message
    assert a.requirement.children[0].amount == Decimal(125_000_000)  # 2.5bn × 5%
    # Configured (custodian's cold storage attested): 90 / 100 = 90% cold, base 10 BTC = 1bn.
    b = kr(
        tmp_path / "b",
        hot="10",
        cold="75",
        custodian="15",
        overrides={"kr-vaupa": {"custodian_counts_as_cold": Decimal(1)}},
    )
    assert cold_finding(b).severity is Severity.INFO
    assert b.requirement.children[0].amount == Decimal(50_000_000)


def test_market_is_an_enumeration_in_the_contract(tmp_path):
    root = btc_snapshot(
        tmp_path / "s",
        jurisdiction="KR",
        currency="KRW",
        fiat_scale=0,
        price="1",
        hot="1",
        cold="9",
        market="coin",
    )
    assert load_snapshot(root).exchange.market.value == "coin"
