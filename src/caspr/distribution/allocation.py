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

    values: Any
    """The shares as an integer array (uint64 when they fit, Python integers otherwise)."""
    undistributed: int
    bonus_units: int
    """How many minimal units the largest-remainder step handed out."""

    @property
    def shares(self) -> list[int]:
        """The shares as Python integers."""
        return list(self.values.tolist())


def allocate(
    pool: int,
    claims: Sequence[int],
    tie_rank: Any,
    largest_remainder: bool = True,
    integers_only: bool = False,
) -> Allocation:
    """Share ``pool`` pro rata over ``claims``; ``tie_rank`` orders accounts by id (ascending).

    ``integers_only`` skips the uint64 fast path (the tests use it to cross-check both).

    Raises:
        ValueError: a negative pool or claim.
    """
    if pool < 0:
        msg = "pool and claims must be non-negative"
        raise ValueError(msg)
    small = _small(claims)
    exact = small if small is not None else np.array(claims, dtype=object)
    if small is None and len(exact) and bool((exact < 0).any()):
        msg = "pool and claims must be non-negative"
        raise ValueError(msg)
    total = int(exact.sum(dtype=object)) if len(exact) else 0
    if total == 0:
        return Allocation(np.zeros(len(exact), dtype=np.uint64), pool, 0)
    if pool >= total:
        return Allocation(exact.copy(), pool - total, 0)
    fast = _fast_path(pool, small, total) if small is not None and not integers_only else None
    if fast is not None:
        quotients, remainders = fast
        left = pool - int(quotients.sum(dtype=object))
        if largest_remainder and left:
            quotients[_top(remainders, tie_rank, left)] += np.uint64(1)
            return Allocation(quotients, 0, left)
        return Allocation(quotients, left, 0)
    products = exact.astype(object) * pool
    quotient_objects = products // total
    left = pool - int(quotient_objects.sum())
    if not largest_remainder or left == 0:
        return Allocation(quotient_objects, left, 0)
    for index in _largest(products - quotient_objects * total, total, left, tie_rank):
        quotient_objects[index] += 1
    return Allocation(quotient_objects, 0, left)


def _top(remainders: Any, tie_rank: Any, k: int) -> Any:
    """Indices of the ``k`` largest uint64 remainders, ties by ``tie_rank`` ascending, in O(n)."""
    negated = -remainders.astype(np.int64)  # remainders < 2^63 on the fast path
    threshold = np.partition(negated, k - 1)[k - 1]
    above = np.nonzero(negated < threshold)[0]
    tied = np.nonzero(negated == threshold)[0]
    keys = np.asarray(tie_rank[tied])
    chosen = tied[np.argsort(keys, kind="stable")[: k - len(above)]]
    return np.concatenate([above, chosen])


def _small(claims: Sequence[int]) -> Any:
    """The claims as uint64 when they all fit (an ndarray passes through), else None."""
    try:
        return np.asarray(claims, dtype=np.uint64)
    except (OverflowError, ValueError, TypeError):
        return None


def _largest(remainders: Any, total: int, k: int, tie_rank: Any) -> list[int]:
    """Indices of the ``k`` largest remainders, ties by ``tie_rank`` ascending (exact)."""
    keys = (remainders / total).astype(np.float64)  # float-ok: ranking key; near-ties exact
    boundary = -np.partition(-keys, k - 1)[k - 1]  # the k-th largest key
    # keys within a relative 1e-12 of the cut may hide an exact difference: rank those exactly
    low, high = boundary * (1 - 1e-12), boundary * (1 + 1e-12)
    certain: list[int] = np.nonzero(keys > high)[0].tolist()
    close = np.nonzero((keys >= low) & (keys <= high))[0]
    ties = np.asarray(tie_rank[close]).tolist()
    exact = sorted(range(len(close)), key=lambda j: (-int(remainders[close[j]]), ties[j]))
    return certain + [int(close[j]) for j in exact[: k - len(certain)]]


class AccountKeys:
    """Tie-break keys read lazily from an Arrow array of account ids (only for the few ties)."""

    def __init__(self, ids: Any) -> None:
        self.ids = ids

    def __getitem__(self, index: Any) -> Any:
        """The account ids at ``index`` (an integer array), as a NumPy array of strings."""
        return np.asarray(self.ids.take(np.asarray(index, dtype=np.int64)).to_pylist(), dtype=object)


_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)


def _mul(a: Any, b: Any) -> tuple[Any, Any]:
    """Exact 64 × 64 → 128-bit products of uint64 arrays, as (hi, lo) uint64 arrays."""
    a0, a1 = a & _M32, a >> _S32
    b0, b1 = b & _M32, b >> _S32
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    middle = (p00 >> _S32) + (p01 & _M32) + (p10 & _M32)
    lo = (p00 & _M32) | ((middle & _M32) << _S32)
    hi = p11 + (p01 >> _S32) + (p10 >> _S32) + (middle >> _S32)
    return hi, lo


def _fast_path(pool: int, c: Any, total: int) -> tuple[Any, Any] | None:
    """Quotients and remainders in uint64 when every number is small enough, else None.

    A float estimate of each quotient is within one unit when claims are below 2^53;
    it is then corrected exactly with 128-bit integer arithmetic, so the result is the
    same as the integer path's (tests compare both).
    """
    if pool >= 2**63 or total >= 2**63 or len(c) == 0 or int(c.max()) >= 2**53:
        return None
    estimate = c.astype(np.float64) * (pool / total)  # float-ok: an estimate, corrected below
    q = np.floor(estimate).astype(np.uint64)
    p_hi, p_lo = _mul(c, np.uint64(pool))
    q_hi, q_lo = _mul(q, np.uint64(total))
    lo = p_lo - q_lo  # the remainder c·pool − q·total, two's complement over (hi, lo)
    hi = p_hi - q_hi - (p_lo < q_lo).astype(np.uint64)
    s = np.uint64(total)
    negative = hi.view(np.int64) < 0
    if negative.any():  # the estimate was one too high
        q[negative] -= np.uint64(1)
        new_lo = lo[negative] + s
        hi[negative] += (new_lo < lo[negative]).astype(np.uint64)
        lo[negative] = new_lo
    high = (hi > 0) | (lo >= s)
    if high.any():  # one too low
        q[high] += np.uint64(1)
        hi[high] -= (lo[high] < s).astype(np.uint64)
        lo[high] -= s
    if bool((hi != 0).any() or (lo >= s).any()):
        return None  # outside the one-unit bound: let the integer path decide
    return q, lo
