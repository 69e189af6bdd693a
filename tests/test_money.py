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


def test_the_hardened_context_holds_in_this_thread_and_in_new_ones():
    import threading

    from caspr.money import PRECISION

    def check(context: decimal.Context) -> None:
        assert context.prec == PRECISION == 60
        for signal in (decimal.FloatOperation, decimal.InvalidOperation, decimal.DivisionByZero):
            assert context.traps[signal], signal

    check(decimal.getcontext())
    seen = []
    thread = threading.Thread(target=lambda: seen.append(decimal.getcontext().copy()))
    thread.start()
    thread.join()
    check(seen[0])  # a new thread starts from the hardened DefaultContext
    with pytest.raises(decimal.DivisionByZero):
        Decimal(1) / Decimal(0)
    with pytest.raises(decimal.InvalidOperation):
        Decimal("1e100").quantize(Decimal(1))  # 101 digits exceed the 60-digit precision


def test_asset_scale_and_price_bounds():
    assert Asset("JPY", AssetKind.FIAT, 0, Decimal(1)).quantum == Decimal(1)
    assert Asset("ETH", AssetKind.CRYPTO, 18, Decimal(0)).quantum == Decimal(
        "1e-18"
    )  # a zero price is allowed
    for scale in (-1, 19):
        with pytest.raises(ValueError, match=f"scale {scale} outside 0-18"):
            Asset("X", AssetKind.CRYPTO, scale, Decimal(1))
    with pytest.raises(ValueError, match="X: price must be a non-negative Decimal"):
        Asset("X", AssetKind.CRYPTO, 2, Decimal("-0.01"))
    with pytest.raises(ValueError, match="price must be a non-negative Decimal"):
        Asset("X", AssetKind.CRYPTO, 2, 5)  # type: ignore[arg-type]
    assert Asset("X", AssetKind.CRYPTO, 2, Decimal("0.5")).price == Decimal("0.5")  # below one is fine


def test_decimal_places_of_zero_and_of_integers():
    assert decimal_places(Decimal(0)) == 0
    assert decimal_places(Decimal("0.000")) == 0
    assert decimal_places(Decimal(1)) == 0


def test_largest_remainder_refuses_negative_and_finer_inputs():
    with pytest.raises(ValueError, match="total and weights must be non-negative"):
        allocate_largest_remainder(Decimal(-1), {"a": Decimal(1)}, 0)
    with pytest.raises(ValueError, match="total and weights must be non-negative"):
        allocate_largest_remainder(Decimal(1), {"a": Decimal(1), "b": Decimal(-1)}, 0)
    with pytest.raises(ValueError, match=r"total 1\.5 is finer than scale 0"):
        allocate_largest_remainder(Decimal("1.5"), {"a": Decimal(1)}, 0)


def test_largest_remainder_ranks_by_remainder_not_by_size():
    # 3 over 16:7:7 at scale 0: exact 1.6, 0.7, 0.7; floors 1, 0, 0 leave 2, which go to the
    # two largest remainders (0.7, 0.7), not to the largest share (1.6)
    shares = allocate_largest_remainder(Decimal(3), {"a": Decimal(16), "b": Decimal(7), "c": Decimal(7)}, 0)
    assert shares == {"a": Decimal(1), "b": Decimal(1), "c": Decimal(1)}


def test_caps_finer_than_the_scale_and_keys_after_a_capped_one():
    # 10 over 2:1:1 at scale 0: exact 5, 2.5, 2.5; a is capped at 4.7 -> 4.7, floor 4 (remainder
    # 0.7, the largest) but 4 + 1 > 4.7, so a is skipped and b and c take the two units left
    shares = allocate_largest_remainder(
        Decimal(10),
        {"a": Decimal(2), "b": Decimal(1), "c": Decimal(1)},
        0,
        caps={"a": Decimal("4.7"), "b": Decimal(10), "c": Decimal(10)},
    )
    assert shares == {"a": Decimal(4), "b": Decimal(3), "c": Decimal(3)}
    # 10 over 1:1 with a capped at 2: a exact share 2 (remainder 0), b 5 (remainder 0); the 3
    # units cut off by a's cap stay undistributed: b never gets more than its pro-rata 5
    shares = allocate_largest_remainder(
        Decimal(10), {"a": Decimal(1), "b": Decimal(1)}, 0, caps={"a": Decimal(2), "b": Decimal(10)}
    )
    assert shares == {"a": Decimal(2), "b": Decimal(5)}
