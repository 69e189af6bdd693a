"""Hypothesis: the rounding helpers are conservative and allocations conserve value.

Amounts are drawn at every ledger scale (0-18 decimals) and up to the 38 significant
digits of DECIMAL(38, s), the widest amount caspr stores; caps come in several shapes
(none, the weights themselves as claims, independent caps that bind for some keys and
not others, caps of zero, and caps that never bind).
"""

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from caspr.money import MAX_SCALE, allocate_largest_remainder, quantize, round_credit, round_requirement

DIGITS = 38
"""DECIMAL(38, s): at most 38 significant digits in an amount, whatever its scale."""

scales = st.integers(min_value=0, max_value=MAX_SCALE)


def units(limit: int = 10**DIGITS - 1) -> st.SearchStrategy[int]:
    """Minor units: small, typical and up to 38 digits, the edges drawn often."""
    return st.one_of(st.sampled_from([0, 1, 2, 10**DIGITS - 1]), st.integers(0, 10**9), st.integers(0, limit))


@st.composite
def values(draw):
    """A signed value with up to 38 digits and up to 24 decimals, and a scale to round it to."""
    places = draw(st.integers(0, MAX_SCALE + 6))
    value = Decimal(draw(units())).scaleb(-places)
    return (-value if draw(st.booleans()) else value), draw(scales)


@given(values())
@settings(max_examples=400)
def test_requirement_never_below_and_credit_never_above(case):
    value, scale = case
    up = round_requirement(value, scale)
    down = round_credit(value, scale)
    quantum = Decimal(1).scaleb(-scale)
    assert down <= value <= up
    assert up - down in (0, quantum)
    assert up - value < quantum and value - down < quantum
    assert (up == down) is (quantize(value, scale, ROUND_FLOOR) == value)  # exact values are left alone


CAP_SHAPES = ("none", "claims", "independent", "zero", "loose")


@st.composite
def allocations(draw, shapes=CAP_SHAPES):
    """A total and weights at one scale (up to 38 digits each), and caps of one shape."""
    scale = draw(scales)
    quantum = Decimal(1).scaleb(-scale)
    total = draw(units()) * quantum
    keys = draw(st.lists(st.text("abcdefgh", min_size=1, max_size=4), min_size=1, max_size=30, unique=True))
    weights = {k: draw(units()) * quantum for k in keys}
    shape = draw(st.sampled_from(shapes))
    caps: dict[str, Decimal] | None
    if shape == "none":
        caps = None
    elif shape == "claims":  # pro rata by claim, capped at the claim (distribution, compensation)
        caps = weights
    elif shape == "independent":
        caps = {k: draw(units()) * quantum for k in keys}
    elif shape == "zero":
        caps = dict.fromkeys(keys, Decimal(0) * quantum)
    else:  # never binds: every cap is the whole total
        caps = dict.fromkeys(keys, total)
    return total, weights, scale, caps


def exact_shares(total, weights, caps):
    weight_sum = sum(weights.values(), Decimal(0))
    exact = {k: total * w / weight_sum if weight_sum else Decimal(0) for k, w in weights.items()}
    return exact if caps is None else {k: min(e, caps[k]) for k, e in exact.items()}


@given(allocations())
@settings(max_examples=500)
def test_allocation_conserves_stays_within_caps_and_is_deterministic(case):
    total, weights, scale, caps = case
    shares = allocate_largest_remainder(total, weights, scale, caps)
    assert set(shares) == set(weights)
    assert all(share >= 0 for share in shares.values())
    assert all(quantize(share, scale, ROUND_FLOOR) == share for share in shares.values())
    given_out = sum(shares.values(), Decimal(0))
    assert given_out <= total  # never more than exists
    for key, target in exact_shares(total, weights, caps).items():
        # each share is its exact (capped) share floored or ceiled: never above the exact share rounded up
        floor = quantize(target, scale, ROUND_FLOOR)
        assert floor <= shares[key] <= quantize(target, scale, ROUND_CEILING), key
        if caps is not None:
            assert shares[key] <= caps[key], key
    weight_sum = sum(weights.values(), Decimal(0))
    if caps is None or caps == dict.fromkeys(weights, total):
        # uncapped (or caps that never bind): nothing created or lost
        assert given_out == (total if weight_sum > 0 else 0)
    if caps is not None and caps == dict.fromkeys(weights, total):
        assert shares == allocate_largest_remainder(total, weights, scale)  # loose caps change nothing
    reordered = dict(reversed(list(weights.items())))
    assert allocate_largest_remainder(total, reordered, scale, caps) == shares  # order-independent


@given(allocations(shapes=("claims", "independent")))
@settings(max_examples=300)
def test_a_capped_remainder_is_left_only_where_caps_bind(case):
    # What stays undistributed is at most what the caps cut off plus less than one unit per key
    # that still had room: the remainder never goes missing for an uncapped key.
    total, weights, scale, caps = case
    quantum = Decimal(1).scaleb(-scale)
    shares = allocate_largest_remainder(total, weights, scale, caps)
    uncapped = exact_shares(total, weights, None)
    cut = sum((max(Decimal(0), uncapped[k] - caps[k]) for k in weights), Decimal(0))
    left = total - sum(shares.values(), Decimal(0))
    assert left >= 0
    if sum(weights.values()) > 0:
        assert left < cut + quantum * len(weights) or left == 0
        if cut == 0:
            assert left == 0  # no cap binds: everything is handed out
