"""Named invariants checked by the code at stage boundaries (and reused by the tests).

Each raises :class:`~caspr.errors.InvariantViolation` naming the invariant: a violation is
a bug in caspr, never a problem with the input, and nothing is written after one.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from caspr.errors import InvariantViolation
from caspr.money import UnitMismatch, sum_amounts


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


def check_funding(regime: str, funding: Any, reserve: Decimal, insurance: Decimal) -> None:
    """A regime's funding: its components add up to the total; insurance never counts below zero.

    ``funding`` is the regime's funding :class:`~caspr.component.Component`: its amount must
    equal ``reserve + insurance`` (the figures the assessment reports beside it) and, where
    it has children, the sum of their amounts (what the explanation tree shows), summed as
    :class:`~caspr.money.Amount` so a component in another currency is a violation too. The reserve
    may be negative (MiCA counts own funds, which a loss-making firm can have below zero).
    """
    amount: Decimal = funding.amount
    if insurance < 0:
        raise InvariantViolation("insurance-non-negative", f"{regime}: insurance credit {insurance}")
    if amount != reserve + insurance:
        raise InvariantViolation(
            "funding-sum", f"{regime}: funding {amount} != reserve {reserve} + insurance {insurance}"
        )
    if not funding.children:
        return
    try:
        parts = sum_amounts((child.money for child in funding.children), funding.currency)
    except UnitMismatch as exc:
        raise InvariantViolation("funding-units", f"{regime}: {exc}") from exc
    if parts.value != amount:
        raise InvariantViolation(
            "funding-components", f"{regime}: components sum to {parts.value}, total {amount}"
        )


def check_por_totals(codes: Sequence[str], root_totals: Sequence[int], liabilities: Sequence[int]) -> None:
    """The proof-of-liabilities root holds, per asset, exactly the customers' liabilities (minor units)."""
    for code, root, owed in zip(codes, root_totals, liabilities, strict=True):
        if root != owed:
            raise InvariantViolation("por-root-totals", f"{code}: root total {root} != liabilities {owed}")
