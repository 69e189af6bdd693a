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
    asset: str,
    pool: int | None,
    claims: Sequence[int] | Any,
    paid: Sequence[int] | Any,
    held: Sequence[int] | Any,
    undistributed: int,
    held_accounts: Any = None,
) -> None:
    """The distribution invariants, on every path (integer minor units, one row per claim).

    * no negative amount;
    * conservation: Σ paid + Σ held + undistributed = pool (skipped when the pool is not known,
      a fiat plan paying percentages with no estate);
    * no account above its claim: paid + held ≤ claim, row by row;
    * holds unpaid: a held row (``held_accounts`` true) is paid nothing, and an unheld row
      holds nothing back.
    """
    given, reserved, owed = _integers(paid), _integers(held), _integers(claims)
    if undistributed < 0 or _negative(given) or _negative(reserved):
        raise InvariantViolation("non-negative", f"{asset}: a negative share or remainder")
    total_paid = int(given.sum(dtype=object)) if len(given) else 0
    total_held = int(reserved.sum(dtype=object)) if len(reserved) else 0
    if pool is not None and total_paid + total_held + undistributed != pool:
        raise InvariantViolation(
            "conservation",
            f"{asset}: paid {total_paid} + held {total_held} + undistributed {undistributed} != pool {pool}",
        )
    allocated = _add(given, reserved)
    over: Any = np.nonzero(allocated > (owed if allocated.dtype == owed.dtype else owed.astype(object)))[0]
    if len(over):
        i = int(over[0])
        raise InvariantViolation(
            "share-within-claim", f"{asset}: row {i} receives {allocated[i]} > its claim {claims[i]}"
        )
    if held_accounts is not None and len(given):
        mask = np.asarray(held_accounts, dtype=bool)
        if bool((given[mask] != 0).any()):
            raise InvariantViolation("holds-unpaid", f"{asset}: a held account is paid")
        if bool((reserved[~mask] != 0).any()):
            raise InvariantViolation(
                "holds-unpaid", f"{asset}: an account that is not held has an amount held"
            )


def _add(a: Any, b: Any) -> Any:
    """Exact a + b: in uint64 when no row overflows (checked), else in Python integers."""
    if a.dtype == b.dtype == np.uint64:
        total = a + b
        if not bool((total < a).any()):  # a wrapped sum is smaller than either term
            return total
    return a.astype(object) + b.astype(object)


def _negative(values: Any) -> bool:
    return bool(len(values) and values.dtype == object and (values < 0).any())


def _integers(values: Sequence[int]) -> Any:
    """An array of exact integers: uint64 when they fit, Python integers otherwise."""
    if isinstance(values, np.ndarray) and values.dtype in (np.uint64, object):
        return values
    if isinstance(values, np.ndarray) and values.dtype.kind == "i":
        return values.astype(object)  # a negative would wrap around in uint64
    try:
        return np.array(values, dtype=np.uint64)
    except (OverflowError, TypeError, ValueError):  # too large, or negative: exact Python integers
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
