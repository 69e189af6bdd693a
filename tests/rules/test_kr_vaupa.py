"""kr-vaupa worked examples: 80% cold; 5% of hot value with KRW 3bn / 0.5bn floors."""

from __future__ import annotations

from decimal import Decimal

from caspr.rules.regime import Severity
from tests.rules.helpers import btc_snapshot, run


def kr(tmp_path, hot: str, cold: str, market: str = "krw", price: str = "100000000"):
    root = btc_snapshot(
        tmp_path / "s",
        jurisdiction="KR",
        currency="KRW",
        fiat_scale=0,
        price=price,
        hot=hot,
        cold=cold,
        market=market,
        reserve='deposits:\n  - {id: r, form: deposit, amount: "3000000000", currency: KRW, held_at: B}\n',
    )
    (a,) = run(root, "kr-vaupa").assessments
    return a


def test_floor_binds_for_a_small_hot_wallet(tmp_path):
    a = kr(tmp_path, hot="20", cold="80")  # hot KRW 2bn × 5% = 100m < 3bn floor
    assert a.requirement.amount == Decimal(3_000_000_000)
    (cold,) = [f for f in a.findings if f.rule == "kr.vaupa.cold"]
    assert cold.severity is Severity.INFO  # exactly 80% cold passes
    assert not a.breaches  # KRW 3bn deposit meets it


def test_five_percent_of_hot_binds_for_a_large_hot_wallet(tmp_path):
    # hot 1000.00000001 BTC × KRW 100,000,000 = 100,000,000,001; × 5% = 5,000,000,000.05 → rounded up
    a = kr(tmp_path, hot="1000.00000001", cold="3999.99999999")
    assert a.requirement.amount == Decimal("5000000001")
    (cold,) = [f for f in a.findings if f.rule == "kr.vaupa.cold"]
    assert cold.severity is Severity.BREACH  # just under 80% cold
    assert [f.rule for f in a.breaches] == ["kr.vaupa.cold", "kr.vaupa.cover"]


def test_coin_market_floor(tmp_path):
    a = kr(tmp_path, hot="1", cold="9", market="coin")
    assert a.requirement.amount == Decimal(500_000_000)
