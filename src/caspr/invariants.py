"""Named invariants checked by the code at stage boundaries (and reused by the tests).

Each raises :class:`~caspr.errors.InvariantViolation` naming the invariant: a violation is
a bug in caspr, never a problem with the input, and nothing is written after one.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from caspr.errors import InvariantViolation


def check_distribution(
    asset: str, pool: int, claims: Sequence[int], shares: Sequence[int], undistributed: int
) -> None:
    """Conservation, no negative amounts, no share above its claim (integer minor units)."""
    given, owed = _integers(shares), _integers(claims)
    if undistributed < 0 or (len(given) and bool((given < 0).any())):
        raise InvariantViolation("non-negative", f"{asset}: a negative share or remainder")
    distributed = int(given.sum(dtype=object)) if len(given) else 0
    if distributed + undistributed != pool:
        raise InvariantViolation(
            "conservation",
            f"{asset}: distributed {distributed} + undistributed {undistributed} != pool {pool}",
        )
    over: Any = np.nonzero(given > owed)[0] if len(given) else []
    if len(over):
        i = int(over[0])
        raise InvariantViolation("share-within-claim", f"{asset}: row {i} receives {shares[i]} > {claims[i]}")


def _integers(values: Sequence[int]) -> Any:
    """An array of exact integers: uint64 when they fit, Python integers otherwise."""
    try:
        return np.array(values, dtype=np.uint64)
    except OverflowError:
        return np.array(values, dtype=object)


def check_cumulative(account: str, cumulative: Sequence[int]) -> None:
    """A round's cumulative payout never decreases."""
    for before, after in itertools.pairwise(cumulative):
        if after < before:
            raise InvariantViolation("cumulative-nondecreasing", f"{account}: {before} then {after}")
