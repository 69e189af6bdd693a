"""Pro-rata allocation of a pool over claims in exact integer minor units.

The rule (DESIGN.md "Conservative rounding"; issue #6): each share is
``floor(pool × claim / Σ claims)``; the minimal units left over go one at a time to the
claims with the largest fractional remainder, ties broken by account id ascending. No
share exceeds its claim, and when the pool covers every claim each claim is paid in full
and the rest of the pool stays undistributed.

Claims and pools are Python integers (minor units can exceed 64 bits: 10^6 ETH is 10^24
wei), so the products are exact. The ranking of remainders is vectorised with NumPy on
correctly rounded float keys; the few claims whose keys are too close to the cut to be
told apart by a float are ranked exactly with integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

ROUNDING_RULE = (
    "each share floored to the asset's minimal unit; the units left over go one at a time to the "
    "largest fractional remainder, ties by account id ascending"
)
FLOOR_ONLY_RULE = "each share floored to the asset's minimal unit; what is left over stays undistributed"


@dataclass(frozen=True, slots=True)
class Allocation:
    """Shares of one pool (same order as the claims), and what is left undistributed."""

    shares: list[int]
    undistributed: int
    bonus_units: int
    """How many minimal units the largest-remainder step handed out."""


def allocate(pool: int, claims: Sequence[int], tie_rank: Any, largest_remainder: bool = True) -> Allocation:
    """Share ``pool`` pro rata over ``claims``; ``tie_rank`` orders accounts by id (ascending).

    Raises:
        ValueError: a negative pool or claim.
    """
    if pool < 0 or any(c < 0 for c in claims):
        msg = "pool and claims must be non-negative"
        raise ValueError(msg)
    total = sum(claims)
    if total == 0:
        return Allocation([0] * len(claims), pool, 0)
    if pool >= total:
        return Allocation(list(claims), pool - total, 0)
    pairs = [divmod(c * pool, total) for c in claims]
    shares = [q for q, _ in pairs]
    left = pool - sum(shares)
    if not largest_remainder or left == 0:
        return Allocation(shares, left, 0)
    remainders = [r for _, r in pairs]
    for index in _largest(remainders, total, left, np.asarray(tie_rank)):
        shares[index] += 1
    return Allocation(shares, 0, left)


def _largest(remainders: list[int], total: int, k: int, tie_rank: Any) -> list[int]:
    """Indices of the ``k`` largest remainders, ties by ``tie_rank`` ascending (exact)."""
    keys = np.array([r / total for r in remainders], dtype=np.float64)  # correctly rounded
    order = np.lexsort((tie_rank, -keys))
    boundary = keys[order[k - 1]]
    # keys within a relative 1e-12 of the cut may hide an exact difference: rank those exactly
    low, high = boundary * (1 - 1e-12), boundary * (1 + 1e-12)
    certain = [int(i) for i in order[:k] if keys[i] > high]
    close = np.nonzero((keys >= low) & (keys <= high))[0]
    exact = sorted((int(i) for i in close), key=lambda i: (-remainders[i], int(tie_rank[i])))
    return certain + exact[: k - len(certain)]
