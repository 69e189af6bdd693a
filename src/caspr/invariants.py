"""Named invariants checked by the code at stage boundaries (and reused by the tests).

Each raises :class:`~caspr.errors.InvariantViolation` naming the invariant: a violation is
a bug in caspr, never a problem with the input, and nothing is written after one.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from caspr.errors import InvariantViolation


def check_distribution(
    asset: str, pool: int, claims: Sequence[int], shares: Sequence[int], undistributed: int
) -> None:
    """Conservation, no negative amounts, no share above its claim (integer minor units)."""
    if undistributed < 0 or any(s < 0 for s in shares):
        raise InvariantViolation("non-negative", f"{asset}: a negative share or remainder")
    if sum(shares) + undistributed != pool:
        raise InvariantViolation(
            "conservation",
            f"{asset}: distributed {sum(shares)} + undistributed {undistributed} != pool {pool}",
        )
    over = next((i for i, (s, c) in enumerate(zip(shares, claims, strict=True)) if s > c), None)
    if over is not None:
        raise InvariantViolation(
            "share-within-claim", f"{asset}: row {over} receives {shares[over]} > {claims[over]}"
        )


def check_cumulative(account: str, cumulative: Sequence[int]) -> None:
    """A round's cumulative payout never decreases."""
    for before, after in itertools.pairwise(cumulative):
        if after < before:
            raise InvariantViolation("cumulative-nondecreasing", f"{account}: {before} then {after}")
