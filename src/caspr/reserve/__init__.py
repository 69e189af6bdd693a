"""Funding: which reserve deposits and insurance policies count, and for how much.

Credits round down (DESIGN.md): an insurance credit is ``limit − retention`` floored
to the currency's minor unit (ISO 4217, :mod:`caspr.currency`); a capped credit is
floored again after the cap.

Each policy's and deposit's credit is an :class:`~caspr.money.Amount` in its own currency
and the credits are summed as Amounts in the regime's currency, so a policy or deposit in
another currency raises :class:`~caspr.money.UnitMismatch` instead of being added as if it
were the same money (the snapshot loader refuses such a file first; this is the backstop).

A field a condition needs but the snapshot leaves out (``insurer_affiliated``,
``on_trust``, ``maturity_days``, ``cancellation_notice_days``) never counts in the
exchange's favour: the item is not counted, and its component carries an ``unstated``
input naming the field, from which the assessment raises a finding (rules/regime.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from caspr.citation import Citation
from caspr.component import Component
from caspr.money import Amount, canonical, round_credit_in, sum_amounts
from caspr.periods import add_months, anniversary, within_months
from caspr.snapshot.schema import Cover, DepositForm, InsurancePolicy, ReserveDeposit


@dataclass(frozen=True, slots=True)
class PolicyConditions:
    """What a regime asks of a policy before it counts."""

    risks: frozenset[Cover]
    """The policy must cover at least one of these."""
    third_party: bool = True
    min_term_days: int = 0
    min_notice_days: int = 0
    required_covers: frozenset[Cover] = frozenset()
    """The policy must cover all of these."""
    min_term_years: int = 0
    """The initial term must run at least this many calendar years (MiCA 67(5)(a): one year)."""


UNSTATED = "unstated"
"""The input key naming fields a condition needed but the snapshot did not state."""


def unstated_policy_fields(policy: InsurancePolicy, conditions: PolicyConditions) -> list[str]:
    """Fields ``conditions`` need that ``policy`` leaves out."""
    fields = []
    if conditions.third_party and policy.insurer_affiliated is None:
        fields.append("insurer_affiliated")
    if conditions.min_notice_days and policy.cancellation_notice_days is None:
        fields.append("cancellation_notice_days")
    return fields


def policy_problems(policy: InsurancePolicy, as_of: dt.date, conditions: PolicyConditions) -> list[str]:
    """Why ``policy`` does not count at ``as_of`` (empty when it counts)."""
    reasons = [
        f"{name} not stated (a missing field never counts)"
        for name in unstated_policy_fields(policy, conditions)
    ]
    if not policy.starts <= as_of < policy.expires:
        reasons.append(f"not in force on {as_of} ({policy.starts} to {policy.expires})")
    if not conditions.risks & set(policy.covers):
        reasons.append(f"covers none of {sorted(c.value for c in conditions.risks)}")
    missing = conditions.required_covers - set(policy.covers)
    if missing:
        reasons.append(f"does not cover {sorted(c.value for c in missing)}")
    if conditions.third_party and policy.insurer_affiliated is True:
        reasons.append("insurer is not a third party")
    if (policy.expires - policy.starts).days < conditions.min_term_days:
        reasons.append(f"term shorter than {conditions.min_term_days} days")
    if conditions.min_term_years and policy.expires < anniversary(policy.starts, conditions.min_term_years):
        reasons.append(
            f"initial term {policy.starts} to {policy.expires} is shorter than {conditions.min_term_years} "
            f"calendar year(s) (would need to run to {anniversary(policy.starts, conditions.min_term_years)})"
        )
    notice = policy.cancellation_notice_days
    if conditions.min_notice_days and notice is not None and notice < conditions.min_notice_days:
        reasons.append(f"cancellation notice {notice} < {conditions.min_notice_days} days")
    return reasons


def insurance_credit(
    policies: Iterable[InsurancePolicy],
    as_of: dt.date,
    conditions: PolicyConditions,
    currency: str,
    citation: Citation | None,
) -> Component:
    """Σ over eligible policies of (limit − retention), each floored; others shown at 0.

    For one incident both per-occurrence and aggregate limits make ``limit −
    retention`` available; the aggregate limit's erosion by earlier claims is not in the
    snapshot and is assumed nil (stated in each child's formula).
    """
    children = []
    credits = []
    for policy in policies:
        reasons = policy_problems(policy, as_of, conditions)
        credit = (
            Decimal(0)
            if reasons
            else round_credit_in(max(Decimal(0), policy.limit - policy.retention), currency)
        )
        credits.append(Amount(credit, policy.currency.value))
        formula = (
            ("not counted: " + "; ".join(reasons))
            if reasons
            else (f"limit − retention ({policy.basis.value} limit, assumed uneroded)")
        )
        children.append(
            Component(
                f"policy {policy.id} ({policy.insurer})",
                credit,
                currency,
                formula,
                inputs=(
                    ("limit", f"{canonical(policy.limit)}"),
                    ("retention", f"{canonical(policy.retention)}"),
                    ("covers", ",".join(c.value for c in policy.covers)),
                    *_unstated_input("insurance.yaml", unstated_policy_fields(policy, conditions)),
                ),
            )
        )
    total = sum_amounts(credits, currency).value
    return Component(
        "insurance", total, currency, "Σ eligible policies", citation=citation, children=tuple(children)
    )


@cache
def shortest_span_days(months: int) -> int:
    """The fewest days any ``months`` calendar months can span (6 months: 181, e.g. Sep 1 → Mar 1)."""
    first = dt.date(2024, 1, 1)
    return min((add_months(d, months) - d).days for d in (first + dt.timedelta(n) for n in range(4 * 366)))


def term_problem(deposit: ReserveDeposit, max_months: int) -> str | None:
    """Why a fixed deposit's term is not shown to be at most ``max_months`` calendar months.

    With ``placed`` and ``matures`` the term is counted in calendar months (a six-month
    deposit from 2026-07-01 to 2027-01-01 runs 184 days and qualifies). With only
    ``maturity_days``, a term no longer than the shortest ``max_months`` months can be
    (181 days for six) qualifies; a longer one may or may not, so it does not count.
    """
    if deposit.placed is not None and deposit.matures is not None:
        if within_months(deposit.placed, deposit.matures, max_months):
            return None
        return (
            f"term {deposit.placed} to {deposit.matures} is longer than {max_months} calendar months "
            f"(would have to mature by {add_months(deposit.placed, max_months)})"
        )
    if deposit.maturity_days is not None:
        shortest = shortest_span_days(max_months)
        if deposit.maturity_days <= shortest:
            return None
        return (
            f"term of {deposit.maturity_days} days may exceed {max_months} calendar months "
            f"(give placed and matures to count it in months)"
        )
    return f"term unknown (give placed and matures; at most {max_months} calendar months count)"


def deposit_credit(
    deposits: Iterable[ReserveDeposit],
    allowed: frozenset[DepositForm],
    currency: str,
    citation: Citation | None,
    max_term_months: int | None = None,
    require_trust: bool = False,
) -> Component:
    """Σ of deposits in an allowed form (and, if asked, on trust and with a short enough term)."""
    children = []
    credits = []
    for deposit in deposits:
        reasons = []
        unstated = []
        if deposit.form not in allowed:
            reasons.append(f"form {deposit.form.value} not allowed")
        if max_term_months is not None and deposit.form is DepositForm.FIXED_DEPOSIT:
            if deposit.maturity_days is None and (deposit.placed is None or deposit.matures is None):
                unstated.append("placed and matures")
            else:
                problem = term_problem(deposit, max_term_months)
                if problem is not None:
                    reasons.append(problem)
        if require_trust:
            if deposit.on_trust is None:
                unstated.append("on_trust")
            elif not deposit.on_trust:
                reasons.append("not held on trust")
        reasons.extend(f"{name} not stated (a missing field never counts)" for name in unstated)
        credit = Decimal(0) if reasons else round_credit_in(deposit.amount, currency)
        credits.append(Amount(credit, deposit.currency.value))
        children.append(
            Component(
                f"deposit {deposit.id} ({deposit.form.value}, {deposit.held_at})",
                credit,
                currency,
                ("not counted: " + "; ".join(reasons)) if reasons else "amount",
                inputs=(
                    ("amount", f"{canonical(deposit.amount)}"),
                    *_unstated_input("reserve.yaml", unstated),
                ),
            )
        )
    return Component(
        "reserve",
        sum_amounts(credits, currency).value,
        currency,
        "Σ eligible deposits",
        citation=citation,
        children=tuple(children),
    )


def _unstated_input(file: str, fields: list[str]) -> tuple[tuple[str, str], ...]:
    """The ``unstated`` input of a component (empty when every needed field is stated)."""
    return ((UNSTATED, f"{file}: {', '.join(fields)}"),) if fields else ()


def unstated_items(funding: Component) -> list[tuple[str, str]]:
    """(component name, "file: fields") of every item not counted for a missing field."""
    return [(node.name, value) for _, node in funding.walk() for key, value in node.inputs if key == UNSTATED]
