"""The named invariants asserted where money moves: each passes on a right figure and names the wrong one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from caspr.assess import assess
from caspr.component import Component
from caspr.errors import InvariantViolation
from caspr.invariants import check_funding, check_por_totals
from caspr.snapshot.loader import load_snapshot


def funding(total, *children):
    return Component(
        "funding",
        Decimal(total),
        "JPY",
        "reserve + insurance",
        children=tuple(Component(name, Decimal(amount), "JPY", "x") for name, amount in children),
    )


def test_funding_components_must_add_up():
    # the tiny exchange under jp-crypto-reserve: 500,000 reserve + 990,000 insurance = 1,490,000
    check_funding(
        "r",
        funding(1_490_000, ("reserve", 500_000), ("insurance", 990_000)),
        Decimal(500_000),
        Decimal(990_000),
    )
    check_funding("r", funding(0), Decimal(0), Decimal(0))  # limits-only regimes: nothing, no children
    # MiCA counts own funds, which can be negative: that is not a bug
    check_funding("r", funding(-5, ("own", -10), ("insurance", 5)), Decimal(-10), Decimal(5))
    with pytest.raises(
        InvariantViolation, match=r"funding-sum.*funding 1490001 != reserve 500000 \+ insurance 990000"
    ):
        check_funding(
            "r",
            funding(1_490_001, ("reserve", 500_001), ("insurance", 990_000)),
            Decimal(500_000),
            Decimal(990_000),
        )
    with pytest.raises(
        InvariantViolation, match=r"funding-components.*components sum to 1480000, total 1490000"
    ):
        check_funding(
            "r",
            funding(1_490_000, ("reserve", 500_000), ("insurance", 980_000)),
            Decimal(500_000),
            Decimal(990_000),
        )
    with pytest.raises(InvariantViolation, match="insurance-non-negative"):
        check_funding("r", funding(0, ("reserve", 1), ("insurance", -1)), Decimal(1), Decimal(-1))


def test_every_regime_funding_adds_up_on_the_tiny_exchange(tiny):
    # assess asserts check_funding for every regime it runs; none may raise on honest input
    report = assess(load_snapshot(tiny), "all")
    assert {a.regime for a in report.assessments} >= {"jp-crypto-reserve", "jp-custody"}
    for a in report.assessments:
        assert a.funding.amount == a.reserve + a.insurance


def test_por_totals_must_equal_liabilities():
    check_por_totals(["BTC", "ETH"], [175000001, 10**19 + 1], [175000001, 10**19 + 1])
    with pytest.raises(
        InvariantViolation, match="ETH: root total 10000000000000000000 != liabilities 10000000000000000001"
    ):
        check_por_totals(["BTC", "ETH"], [175000001, 10**19], [175000001, 10**19 + 1])


def test_funding_components_in_another_currency_are_a_violation():
    # 500,000 JPY reserve + 990,000 "insurance" that is really in EUR: the numbers add up, the money does not
    mixed = Component(
        "funding",
        Decimal(1_490_000),
        "JPY",
        "reserve + insurance",
        children=(
            Component("reserve", Decimal(500_000), "JPY", "x"),
            Component("insurance", Decimal(990_000), "EUR", "x"),
        ),
    )
    with pytest.raises(InvariantViolation, match=r"funding-units.*cannot add 500000 JPY and 990000 EUR"):
        check_funding("r", mixed, Decimal(500_000), Decimal(990_000))
