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
    # trust 20,000 + short fixed deposit 400 (90 days: under any 6 calendar months, the shortest
    # being 181 days) + insurance 6,000; the 200-day one exceeds every 6-month span (at most 184)
    assert a.reserve == Decimal(20_400)
    assert a.insurance == Decimal(6_000)
    assert a.funding.amount == Decimal(26_400)
    assert not a.breaches
    # the JSON names what the deposits are: funds set aside (and guarantees), not a reserve
    assert a.to_dict()["funding"]["set_aside"] == "20400"


def test_just_under_98_percent_cold_is_a_breach_and_the_requirement_rounds_up_to_the_cent(tmp_path):
    a = hk(tmp_path, hot="1.00000001", cold="48.99999999")
    (cold,) = [f for f in a.findings if f.rule == "hk.sfc.10.6(c)"]
    assert cold.severity is Severity.BREACH
    # 1,000.00001 + 24,499.999995 = 25,500.000005 → rounded up to the HKD minor unit (ISO 4217: 2
    # places): HKD 25,500.01, not HKD 25,501 (whole dollars overstate it by HKD 0.99)
    assert a.requirement.amount == Decimal("25500.01")


SIX_MONTHS = """\
deposits:
  - {{id: fd, form: fixed_deposit, amount: "25500", currency: HKD, held_at: HK Bank,
     placed: 2026-07-01, matures: {matures}, on_trust: true}}
"""


def six_month_deposit(tmp_path, matures: str):
    root = btc_snapshot(
        tmp_path / matures,
        jurisdiction="HK",
        currency="HKD",
        fiat_scale=2,
        price="1000",
        hot="1",
        cold="49",
        licences="trading_platform, custody",
        reserve=SIX_MONTHS.format(matures=matures),
    )
    (a,) = run(root, "hk-sfc").assessments
    return a


def test_a_six_calendar_month_fixed_deposit_of_184_days_counts(tmp_path):
    # VATP Guidelines, compensation arrangement: fixed deposits of "no more than 6 months".
    # 2026-07-01 + 6 calendar months = 2027-01-01; that term is 31+31+30+31+30+31 = 184 days,
    # one more than the 183 days the rule was coded as. Requirement 1,000 + 24,500 = 25,500,
    # and the HKD 25,500 deposit meets it.
    a = six_month_deposit(tmp_path, "2027-01-01")
    assert a.reserve == Decimal(25_500)
    assert not a.breaches


def test_a_fixed_deposit_one_day_past_six_calendar_months_does_not_count(tmp_path):
    a = six_month_deposit(tmp_path, "2027-01-02")  # 185 days: past 2027-01-01
    assert a.reserve == 0
    (deposit,) = a.funding.children[0].children
    assert "longer than 6 calendar months (would have to mature by 2027-01-01)" in deposit.formula
    assert [f.rule for f in a.breaches] == ["hk.sfc.compensation"]


def test_the_compensation_arrangement_citation_says_its_paragraph_is_unverified(tmp_path):
    a = hk(tmp_path, hot="10", cold="40")  # 80% cold: both findings fire
    (shortfall,) = [f for f in a.findings if f.rule == "hk.sfc.compensation"]
    text = str(shortfall.citation)
    assert "paragraph number not verified" in text
    assert text.endswith("[unverified]")
    assert "10.22 (compensation arrangement)" not in text
