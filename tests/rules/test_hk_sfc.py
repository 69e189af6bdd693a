"""hk-sfc worked examples: 98% cold (10.6(c)); 100% hot + 50% cold compensation arrangement."""

from __future__ import annotations

from decimal import Decimal

from caspr.rules.regime import Severity
from tests.rules.helpers import btc_snapshot, run

RESERVE = """\
deposits:
  - {id: trust, form: cash_trust, amount: "20000", currency: HKD, held_at: HK Bank, on_trust: true}
  - {id: fd-long, form: fixed_deposit, amount: "10000", currency: HKD, held_at: HK Bank, maturity_days: 200, on_trust: true}
  - {id: fd-short, form: fixed_deposit, amount: "400", currency: HKD, held_at: HK Bank, maturity_days: 90, on_trust: true}
"""
INSURANCE = """\
policies:
  - {id: specie, insurer: Lloyd's syndicate, insurer_affiliated: false, limit: "6000", retention: "0", basis: aggregate, covers: [cold],
     starts: 2026-01-01, expires: 2027-01-01, currency: HKD}
"""


def hk(tmp_path, hot: str, cold: str):
    root = btc_snapshot(
        tmp_path / "s",
        jurisdiction="HK",
        currency="HKD",
        fiat_scale=2,
        price="1000",
        hot=hot,
        cold=cold,
        licences="trading_platform, custody",
        reserve=RESERVE,
        insurance=INSURANCE,
    )
    (a,) = run(root, "hk-sfc").assessments
    return a


def test_exactly_98_percent_cold_passes_and_the_arrangement_is_sized(tmp_path):
    a = hk(tmp_path, hot="1", cold="49")
    (cold,) = [f for f in a.findings if f.rule == "hk.sfc.10.6(c)"]
    assert cold.severity is Severity.INFO
    # 100% × HKD 1,000 hot + 50% × HKD 49,000 cold = 1,000 + 24,500
    assert a.requirement.amount == Decimal(25_500)
    # trust 20,000 + short fixed deposit 400 (the 200-day one exceeds 6 months) + insurance 6,000
    assert a.reserve == Decimal(20_400)
    assert a.insurance == Decimal(6_000)
    assert a.funding.amount == Decimal(26_400)
    assert not a.breaches


def test_just_under_98_percent_cold_is_a_breach(tmp_path):
    a = hk(tmp_path, hot="1.00000001", cold="48.99999999")
    (cold,) = [f for f in a.findings if f.rule == "hk.sfc.10.6(c)"]
    assert cold.severity is Severity.BREACH
    # 1,000.00001 + 24,499.999995 = 25,500.000005 → rounded up to 25,501
    assert a.requirement.amount == Decimal(25_501)
