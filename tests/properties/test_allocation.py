"""distribution.allocation at the edges its mutants probed: float keys that collapse, large arrays.

Each test compares with the definition computed independently in Python integers:
share_i = floor(pool · c_i / Σc), then the units left go to the largest exact remainders
pool · c_i mod Σc, ties by rank ascending.
"""

from __future__ import annotations

import numpy as np
import pytest

from caspr.distribution.allocation import allocate


def reference(pool: int, claims: list[int], ranks: list[int]) -> list[int]:
    total = sum(claims)
    if pool >= total:
        return list(claims)
    shares = [c * pool // total for c in claims]
    left = pool - sum(shares)
    order = sorted(range(len(claims)), key=lambda i: (-(claims[i] * pool % total), ranks[i]))
    for i in order[:left]:
        shares[i] += 1
    return shares


def test_remainders_a_float_cannot_tell_apart_are_ranked_exactly_on_the_fast_path():
    # 1,024 claims near 2^52 sum to ~2^62; with pool = total − 1 every remainder is total − c,
    # about 2^62, where float64 steps by 1,024: the remainders of 2^52 − 1, 2^52 and 2^52 + 1
    # are one apart and collapse to one float. 1,023 units are left, so exactly the claim with
    # the smallest exact remainder (the largest claim, 2^52 + 1) gets none, though it ranks first.
    claims = [2**52 - 1] * 1022 + [2**52, 2**52 + 1]
    ranks = [*range(1, 1023), 1023, 0]  # the largest claim has the best (lowest) rank
    pool = sum(claims) - 1
    assert sum(claims) < 2**63  # the uint64 fast path applies
    fast = allocate(pool, np.array(claims, dtype=np.uint64), np.array(ranks)).shares
    slow = allocate(pool, claims, np.array(ranks), integers_only=True).shares
    expected = reference(pool, claims, ranks)
    assert expected[-1] == 2**52  # c − 1: no extra unit for the smallest remainder
    assert expected[-2] == 2**52  # 2^52 − 1 + 1
    assert fast == slow == expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_large_random_pools_match_the_definition_in_both_paths(seed):
    # 50,000 claims: large enough that a selection (np.partition) off by one position
    # picks a wrong cut; many equal claims so that ties by rank decide
    rng = np.random.default_rng(seed)  # seeded: replays
    n = 50_000
    claims = rng.integers(1, 1000, size=n).tolist()
    ranks = rng.permutation(n).tolist()
    total = sum(claims)
    for pool in (1, 7, total // 3, total - 1):
        expected = reference(pool, claims, ranks)
        assert allocate(pool, np.array(claims, dtype=np.uint64), np.array(ranks)).shares == expected, pool
        assert allocate(pool, claims, np.array(ranks), integers_only=True).shares == expected, pool
