"""The ISO 4217 minor-unit table and the rounding every regime uses; calendar periods."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caspr.currency import minor_unit
from caspr.money import round_credit_in, round_requirement_in
from caspr.periods import add_months, anniversary, within_months
from caspr.snapshot.schema import Currency


def test_every_reporting_currency_has_a_minor_unit():
    for currency in Currency:  # raises KeyError for one the table lacks
        assert minor_unit(currency.value) in (0, 2, 3)
    # ISO 4217 "Minor unit": JPY, KRW and ISK have none; BHD has 3; the others here 2
    assert [minor_unit(c) for c in ("EUR", "HKD", "USD", "PLN", "HUF", "JPY", "KRW", "ISK", "BHD")] == [
        2,
        2,
        2,
        2,
        2,
        0,
        0,
        0,
        3,
    ]


def test_an_unknown_currency_is_never_guessed():
    with pytest.raises(KeyError, match="XYZ: not in caspr's ISO 4217 minor-unit table"):
        minor_unit("XYZ")


def test_a_quarter_of_200000_04_euro_is_50000_01_not_50001():
    # MiCA 67(1)(b) worked example: 200,000.04 × 0.25 = 50,000.01 exactly (cents, ISO 4217).
    assert round_requirement_in(Decimal("200000.04") * Decimal("0.25"), "EUR") == Decimal("50000.01")
    # a requirement of 50,000.001 euro rounds up to the next cent; a credit of 50,000.509 down
    assert round_requirement_in(Decimal("50000.001"), "EUR") == Decimal("50000.01")
    assert round_credit_in(Decimal("50000.509"), "EUR") == Decimal("50000.50")
    # the won has no minor unit: KRW 5,000,000,000.05 → 5,000,000,001 (up), 5,000,000,000 (down)
    assert round_requirement_in(Decimal("5000000000.05"), "KRW") == Decimal(5_000_000_001)
    assert round_credit_in(Decimal("5000000000.05"), "KRW") == Decimal(5_000_000_000)
    # the Bahraini dinar has three places (fils)
    assert round_requirement_in(Decimal("1.0001"), "BHD") == Decimal("1.001")


@given(
    st.decimals(min_value=0, max_value=10**12, places=6, allow_nan=False, allow_infinity=False),
    st.sampled_from([c.value for c in Currency]),
)
def test_requirement_never_below_and_credit_never_above_the_exact_amount(value, currency):
    quantum = Decimal(1).scaleb(-minor_unit(currency))
    up, down = round_requirement_in(value, currency), round_credit_in(value, currency)
    assert down <= value <= up
    assert up - down in (0, quantum)
    assert up % quantum == 0 and down % quantum == 0


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (dt.date(2026, 7, 1), 6, dt.date(2027, 1, 1)),  # 184 days
        (dt.date(2026, 9, 1), 6, dt.date(2027, 3, 1)),  # 181 days
        (dt.date(2026, 8, 31), 6, dt.date(2027, 2, 28)),  # clamped to February's last day
        (dt.date(2027, 8, 31), 6, dt.date(2028, 2, 29)),
        (dt.date(2026, 3, 31), -12, dt.date(2025, 3, 31)),
    ],
)
def test_calendar_months(start, months, end):
    assert add_months(start, months) == end


def test_a_six_month_term_of_184_days_is_within_six_months_and_185_is_not():
    assert within_months(dt.date(2026, 7, 1), dt.date(2027, 1, 1), 6)
    assert not within_months(dt.date(2026, 7, 1), dt.date(2027, 1, 2), 6)


def test_one_calendar_year_across_a_leap_day():
    assert anniversary(dt.date(2023, 3, 1), 1) == dt.date(2024, 3, 1)  # 366 days
    assert anniversary(dt.date(2027, 3, 1), 1) == dt.date(2028, 3, 1)  # so 2028-02-29 is short
    assert anniversary(dt.date(2024, 2, 29), 1) == dt.date(2025, 3, 1)  # to the end of 28 February
