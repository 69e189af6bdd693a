"""caspr.money.Amount: exact, immutable, one unit at a time (adding yen to euros raises)."""

from __future__ import annotations

import dataclasses
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caspr.component import Component
from caspr.money import Amount, UnitMismatch, sum_amounts
from caspr.reserve import deposit_credit
from caspr.snapshot.schema import DepositForm, ReserveDeposit

amounts = st.decimals(
    min_value=Decimal("-1e20"), max_value=Decimal("1e20"), places=18, allow_nan=False, allow_infinity=False
)


def test_arithmetic_within_one_unit():
    a, b = Amount(Decimal("100.5"), "JPY"), Amount(Decimal("0.5"), "JPY")
    assert a + b == Amount(Decimal(101), "JPY")
    assert a - b == Amount(Decimal(100), "JPY")
    assert -b == Amount(Decimal("-0.5"), "JPY")
    assert a * Decimal("0.25") == Decimal("0.25") * a == Amount(Decimal("25.125"), "JPY")
    assert b < a and a >= b and not a <= b
    assert str(a) == "100.5 JPY"
    assert sum_amounts([a, b, b], "JPY") == Amount(Decimal("101.5"), "JPY")
    assert sum_amounts([], "EUR") == Amount.zero("EUR")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.value = Decimal(0)  # type: ignore[misc]


def test_yen_and_euros_never_mix():
    yen, euro = Amount(Decimal(1), "JPY"), Amount(Decimal(1), "EUR")
    for operation in (lambda: yen + euro, lambda: yen - euro, lambda: yen < euro, lambda: yen >= euro):
        with pytest.raises(UnitMismatch, match="different units"):
            operation()
    with pytest.raises(UnitMismatch, match="cannot add 1 JPY and 1 EUR"):
        sum_amounts([yen, euro], "JPY")
    assert yen != euro  # equal values, different units: not equal
    with pytest.raises(TypeError):
        yen + Decimal(1)  # type: ignore[operator]
    with pytest.raises(TypeError):
        yen * yen  # type: ignore[operator]


def test_only_exact_finite_values_with_a_unit():
    with pytest.raises(TypeError):
        Amount(1, "JPY")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Amount(Decimal("NaN"), "JPY")
    with pytest.raises(TypeError):
        Amount(Decimal(1), "")


def test_conversion_goes_through_a_price_and_a_rounding():
    # 0.25000001 BTC at ¥15,000,000 = ¥3,750,000.15 -> a requirement rounds up, a credit down
    btc = Amount(Decimal("0.25000001"), "BTC")
    price = Amount(Decimal(15_000_000), "JPY")
    assert btc.at(price, 0, ROUND_CEILING) == Amount(Decimal(3_750_001), "JPY")
    assert btc.at(price, 0, ROUND_FLOOR) == Amount(Decimal(3_750_000), "JPY")
    assert Amount(Decimal("1.239"), "EUR").quantize(2, ROUND_FLOOR) == Amount(Decimal("1.23"), "EUR")


@given(amounts, amounts, amounts)
def test_sums_are_exact_commutative_and_associative(x, y, z):
    a, b, c = (Amount(v, "BTC") for v in (x, y, z))
    assert a + b == b + a
    assert (a + b) + c == a + (b + c)
    assert (a + b - b) == a
    assert sum_amounts([a, b, c], "BTC").value == x + y + z


def test_a_deposit_in_another_currency_is_never_counted_as_the_reporting_currency():
    # the loader refuses such a file; the reserve's own sum is the backstop
    deposits = [
        ReserveDeposit(
            id="d1", form=DepositForm.CASH_TRUST, amount=Decimal(500), currency="JPY", held_at="T"
        ),
        ReserveDeposit(id="d2", form=DepositForm.CASH_TRUST, amount=Decimal(7), currency="EUR", held_at="T"),
    ]
    with pytest.raises(UnitMismatch, match="cannot add 500 JPY and 7 EUR"):
        deposit_credit(deposits, frozenset({DepositForm.CASH_TRUST}), "JPY", None)
    assert deposit_credit(deposits[:1], frozenset({DepositForm.CASH_TRUST}), "JPY", None).amount == 500


def test_a_component_carries_its_currency():
    assert Component("funding", Decimal(5), "HKD", "x").money == Amount(Decimal(5), "HKD")
