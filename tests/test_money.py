import decimal
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caspr.money import (
    Asset,
    AssetKind,
    allocate_largest_remainder,
    decimal_places,
    parse_decimal,
    round_credit,
    round_requirement,
)
from caspr.yamltext import load_yaml


def test_floats_are_trapped():
    with pytest.raises(decimal.FloatOperation):
        Decimal(0.1)
    with pytest.raises(decimal.FloatOperation):
        _ = Decimal("1") < 0.5


def test_requirement_rounds_up_and_credit_rounds_down():
    assert round_requirement(Decimal("100.0001")) == Decimal("101")
    assert round_credit(Decimal("100.9999")) == Decimal("100")
    assert round_requirement(Decimal("100")) == Decimal("100")
    assert round_requirement(Decimal("0.001"), 2) == Decimal("0.01")
    assert round_credit(Decimal("0.019"), 2) == Decimal("0.01")


def test_parse_decimal_reads_text_exactly():
    assert parse_decimal("0.00000001") == Decimal("1E-8")
    assert parse_decimal(" 12.50 ") == Decimal("12.50")
    for bad in ("1e5", "abc", "", "1.", ".5", "NaN", "1,000"):
        with pytest.raises(ValueError, match="not a decimal number"):
            parse_decimal(bad)


def test_decimal_places():
    assert decimal_places(Decimal("1.50")) == 1
    assert decimal_places(Decimal("100")) == 0
    assert decimal_places(Decimal("0.000000000000000001")) == 18


def test_asset_units_round_trip_and_reject_finer_than_scale():
    btc = Asset("BTC", AssetKind.CRYPTO, 8, Decimal("15000000"))
    assert btc.to_units(Decimal("1.23456789")) == 123456789
    assert btc.from_units(123456789) == Decimal("1.23456789")
    with pytest.raises(ValueError, match="finer"):
        btc.to_units(Decimal("0.000000001"))
    with pytest.raises(ValueError, match="scale"):
        Asset("X", AssetKind.CRYPTO, 19, Decimal(1))


def test_largest_remainder_worked_example():
    # 10 units at scale 0 over weights 1:1:1 -> exact 3.333.. each; floors 3,3,3 leave 1.
    # Remainders are equal, so the tie goes to the smallest key: "a".
    shares = allocate_largest_remainder(Decimal(10), {"c": Decimal(1), "a": Decimal(1), "b": Decimal(1)}, 0)
    assert shares == {"a": Decimal(4), "b": Decimal(3), "c": Decimal(3)}
    # 1.00 over weights 1:2 at scale 2 -> exact 0.3333.., 0.6666..; floors 0.33, 0.66;
    # 0.01 left goes to the larger remainder (0.00666 for "y" > 0.00333 for "x").
    shares = allocate_largest_remainder(Decimal("1.00"), {"x": Decimal(1), "y": Decimal(2)}, 2)
    assert shares == {"x": Decimal("0.33"), "y": Decimal("0.67")}


def test_largest_remainder_respects_caps():
    # pool 100 over claims 30 and 200 (pro rata by claim) capped at the claims:
    # exact 13.04.., 86.95..; floors 13 + 86 = 99; the 1 left goes to "b" (0.956 > 0.043).
    claims = {"a": Decimal(30), "b": Decimal(200)}
    shares = allocate_largest_remainder(Decimal(100), claims, 0, caps=claims)
    assert shares == {"a": Decimal(13), "b": Decimal(87)}
    # a pool larger than the claims pays each claim in full and leaves the rest undistributed
    shares = allocate_largest_remainder(Decimal(500), claims, 0, caps=claims)
    assert shares == claims


def test_yaml_numbers_are_decimals_from_text():
    doc = load_yaml("a: 0.1\nb: 5\nc: 1_000.25\n")
    assert doc == {"a": Decimal("0.1"), "b": 5, "c": Decimal("1000.25")}
    assert isinstance(doc["a"], Decimal)


@given(
    st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 2**127 - 1)),
    st.integers(0, 19),
    st.booleans(),
)
def test_multiples_of_ten_is_exact_on_128_bit_integers(value, k, make_multiple):
    import numpy as np

    from caspr.units import multiples_of_ten

    if make_multiple:
        value = (value // 10**k) * 10**k
    others = [value + 1, value * 10 % 2**127, 10**k, 2**64, 2**64 + 10**k, 0]
    numbers = [value, *others]
    limbs = np.array([[n % 2**64, n >> 64] for n in numbers], dtype=np.uint64)
    assert multiples_of_ten(limbs, k).tolist() == [n % 10**k == 0 for n in numbers]
