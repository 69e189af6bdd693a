"""Hypothesis: the rounding helpers are conservative and allocations conserve value."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from caspr.money import allocate_largest_remainder, quantize, round_credit, round_requirement

decimals = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=10, allow_nan=False, allow_infinity=False
)
scales = st.integers(min_value=0, max_value=18)


@given(decimals, scales)
def test_requirement_never_below_and_credit_never_above(value, scale):
    up = round_requirement(value, scale)
    down = round_credit(value, scale)
    quantum = Decimal(1).scaleb(-scale)
    assert down <= value <= up
    assert up - down in (0, quantum)
    assert up - value < quantum and value - down < quantum


@st.composite
def allocations(draw):
    scale = draw(st.integers(0, 8))
    quantum = Decimal(1).scaleb(-scale)
    units = draw(st.integers(0, 10**12))
    total = units * quantum
    keys = draw(st.lists(st.text("abcdefgh", min_size=1, max_size=4), min_size=1, max_size=30, unique=True))
    weights = {k: draw(st.integers(0, 10**9)) * quantum for k in keys}
    return total, weights, scale


@given(allocations())
@settings(max_examples=300)
def test_allocation_conserves_and_is_deterministic(case):
    total, weights, scale = case
    shares = allocate_largest_remainder(total, weights, scale)
    assert all(share >= 0 for share in shares.values())
    assert all(quantize(share, scale, "ROUND_FLOOR") == share for share in shares.values())
    if sum(weights.values()) > 0:
        assert sum(shares.values()) == total  # nothing created or lost
    else:
        assert sum(shares.values()) == 0
    weight_sum = sum(weights.values())
    quantum = Decimal(1).scaleb(-scale)
    for key, share in shares.items():
        exact = total * weights[key] / weight_sum if weight_sum else Decimal(0)
        assert abs(share - exact) < quantum  # each share within one minimal unit of exact
    reordered = dict(reversed(list(weights.items())))
    assert allocate_largest_remainder(total, reordered, scale) == shares  # order-independent


@given(allocations())
@settings(max_examples=200)
def test_capped_allocation_never_exceeds_cap_or_total(case):
    total, weights, scale = case
    shares = allocate_largest_remainder(total, weights, scale, caps=weights)
    assert sum(shares.values()) <= total
    assert all(shares[k] <= weights[k] for k in weights)
