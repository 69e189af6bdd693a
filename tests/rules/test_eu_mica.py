"""eu-mica worked examples: Art. 67(1), Annex IV classes, Art. 67(4)-(5) insurance, Art. 70."""

from __future__ import annotations

from decimal import Decimal

import pytest

from caspr.rules.eu_mica import casp_class
from caspr.snapshot.schema import Licence
from tests.rules.helpers import btc_snapshot, run

POLICY = """\
policies:
  - id: pi
    insurer: Example Assurance SE
    limit: "50000"
    retention: "1000"
    basis: aggregate
    covers: [professional_liability, cyber]
    starts: 2026-01-01
    expires: 2027-01-01
    currency: EUR
    cancellation_notice_days: {notice}
    insurer_affiliated: false
"""


def mica(
    tmp_path,
    overheads: str,
    licences: str = "custody, exchange_for_funds",
    own_funds: str = "100000",
    notice: int = 90,
):
    root = btc_snapshot(
        tmp_path / "s",
        jurisdiction="EU",
        currency="EUR",
        fiat_scale=2,
        price="80000",
        hot="1",
        cold="9",
        licences=licences,
        financials=f'fixed_overheads_prev_year: "{overheads}";own_funds: "{own_funds}"',
        insurance=POLICY.format(notice=notice),
        fiat_owed="2500.50",
        fiat_trust="2500.50",
    )
    (a,) = run(root, "eu-mica").assessments
    return a


@pytest.mark.parametrize(
    ("licences", "klass"),
    [
        ((Licence.ADVICE,), 1),
        ((Licence.TRANSFER, Licence.CUSTODY), 2),
        ((Licence.EXCHANGE_FOR_CRYPTO,), 2),
        ((Licence.CUSTODY, Licence.TRADING_PLATFORM), 3),
    ],
)
def test_annex_iv_class_is_the_highest_licensed(licences, klass):
    assert casp_class(licences) == klass


def test_permanent_minimum_binds_below_the_crossover(tmp_path):
    a = mica(tmp_path, overheads="400000")  # ¼ × 400,000 = 100,000 < 125,000 (class 2)
    assert a.requirement.amount == Decimal(125_000)
    minimum, quarter = a.requirement.children
    assert minimum.amount == Decimal(125_000)
    assert quarter.amount == Decimal(100_000)


def test_exactly_at_the_crossover_both_give_the_same(tmp_path):
    a = mica(tmp_path, overheads="500000")  # ¼ × 500,000 = 125,000 = class 2 minimum
    assert a.requirement.amount == Decimal(125_000)
    assert a.requirement.children[1].amount == Decimal(125_000)


def test_overheads_bind_above_and_round_up(tmp_path):
    a = mica(tmp_path, overheads="500001")  # ¼ × 500,001 = 125,000.25 → 125,001 (rounded up)
    assert a.requirement.amount == Decimal(125_001)


def test_trading_platform_is_class_3(tmp_path):
    a = mica(tmp_path, overheads="0", licences="trading_platform, custody")
    assert a.requirement.amount == Decimal(150_000)


def test_eligible_policy_counts_with_own_funds(tmp_path):
    a = mica(tmp_path, overheads="400000")  # 100,000 own funds + (50,000 − 1,000) insurance
    assert a.reserve == Decimal(100_000)
    assert a.insurance == Decimal(49_000)
    assert a.funding.amount == Decimal(149_000)
    assert not a.breaches


def test_policy_with_short_notice_is_not_eligible(tmp_path):
    a = mica(tmp_path, overheads="400000", notice=60)  # Art. 67(5): ≥ 90 days' notice
    assert a.insurance == 0
    (breach,) = a.breaches
    assert breach.rule == "eu.mica.67(1)"
    policy = a.funding.children[1].children[0]
    assert "cancellation notice 60 < 90 days" in policy.formula
