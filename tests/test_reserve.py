"""Funding credits (caspr.reserve): every eligibility condition at its boundary, computed by hand.

One policy: limit ¥1,000,000.9, retention ¥10,000 -> credit floor(990,000.9) = ¥990,000, in
force from 2026-01-01 until (not including) 2027-01-01, term 365 days.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from caspr.reserve import PolicyConditions, deposit_credit, insurance_credit, policy_problems
from caspr.snapshot.schema import Cover, DepositForm, InsurancePolicy, ReserveDeposit

AS_OF = dt.date(2026, 9, 30)
HOT = PolicyConditions(risks=frozenset({Cover.HOT}))


def policy(**change):
    fields = {
        "id": "p1",
        "insurer": "Example Marine",
        "limit": Decimal("1000000.9"),
        "retention": Decimal(10_000),
        "basis": "aggregate",
        "covers": (Cover.HOT, Cover.COLD),
        "starts": dt.date(2026, 1, 1),
        "expires": dt.date(2027, 1, 1),
        "currency": "JPY",
        "cancellation_notice_days": 90,
        "insurer_affiliated": False,  # stated: a missing affiliation is never credited (issue 14)
    }
    fields.update(change)
    return InsurancePolicy(**fields)


def credit(p, conditions=HOT, as_of=AS_OF):
    return insurance_credit([p], as_of, conditions, "JPY", None)


def test_an_eligible_policy_counts_limit_minus_retention_floored():
    c = credit(policy())
    assert c.amount == Decimal(990_000)  # 1,000,000.9 − 10,000 = 990,000.9, floored
    (child,) = c.children
    assert child.amount == Decimal(990_000)
    assert child.formula == "limit − retention (aggregate limit, assumed uneroded)"
    assert dict(child.inputs) == {"limit": "1000000.9", "retention": "10000", "covers": "hot,cold"}
    # a retention above the limit counts nothing, never a negative credit
    assert credit(policy(retention=Decimal(2_000_000))).amount == 0
    # two policies add up
    assert insurance_credit([policy(), policy(id="p2")], AS_OF, HOT, "JPY", None).amount == Decimal(1_980_000)


def test_in_force_means_starts_on_or_before_as_of_and_expires_after_it():
    assert credit(policy(), as_of=dt.date(2026, 1, 1)).amount == Decimal(990_000)  # first day counts
    assert credit(policy(), as_of=dt.date(2026, 12, 31)).amount == Decimal(990_000)  # last day counts
    assert credit(policy(), as_of=dt.date(2027, 1, 1)).amount == 0  # expiry day does not
    assert credit(policy(), as_of=dt.date(2025, 12, 31)).amount == 0  # nor the day before it starts
    assert policy_problems(policy(), dt.date(2027, 1, 1), HOT) == [
        "not in force on 2027-01-01 (2026-01-01 to 2027-01-01)"
    ]


def test_each_condition_names_its_reason():
    assert policy_problems(policy(covers=(Cover.COLD,)), AS_OF, HOT) == ["covers none of ['hot']"]
    needs_both = PolicyConditions(
        risks=frozenset({Cover.HOT}), required_covers=frozenset({Cover.HOT, Cover.INSIDER})
    )
    assert policy_problems(policy(), AS_OF, needs_both) == ["does not cover ['insider']"]
    assert policy_problems(policy(insurer_affiliated=True), AS_OF, HOT) == ["insurer is not a third party"]
    own_group_ok = PolicyConditions(risks=frozenset({Cover.HOT}), third_party=False)
    assert policy_problems(policy(insurer_affiliated=True), AS_OF, own_group_ok) == []


@pytest.mark.parametrize(("days", "counts"), [(365, True), (366, False)])
def test_minimum_term_boundary(days, counts):
    # MiCA 67(5)(a): an initial term of at least one year; this policy runs exactly 365 days
    conditions = PolicyConditions(risks=frozenset({Cover.HOT}), min_term_days=days)
    problems = policy_problems(policy(), AS_OF, conditions)
    assert problems == ([] if counts else ["term shorter than 366 days"])


@pytest.mark.parametrize(("notice", "counts"), [(90, True), (89, False), (None, False)])
def test_minimum_notice_boundary(notice, counts):
    # MiCA 67(5)(b): cancellation notice of at least 90 days; an unknown notice never counts
    conditions = PolicyConditions(risks=frozenset({Cover.HOT}), min_notice_days=90)
    problems = policy_problems(policy(cancellation_notice_days=notice), AS_OF, conditions)
    expected = (
        "cancellation_notice_days not stated (a missing field never counts)"
        if notice is None
        else f"cancellation notice {notice} < 90 days"
    )
    assert problems == ([] if counts else [expected])
    # without a notice condition an unknown notice is fine
    assert policy_problems(policy(cancellation_notice_days=None), AS_OF, HOT) == []


def deposit(**change):
    fields = {
        "id": "d1",
        "form": DepositForm.FIXED_DEPOSIT,
        "amount": Decimal("500000.5"),
        "currency": "JPY",
        "held_at": "Example Trust",
        "maturity_days": 180,
        "on_trust": True,  # stated: an unstated trust never counts where trust is required
    }
    fields.update(change)
    return ReserveDeposit(**fields)


FORMS = frozenset({DepositForm.FIXED_DEPOSIT, DepositForm.CASH_TRUST})


def test_deposits_count_by_form_maturity_and_trust():
    c = deposit_credit([deposit()], FORMS, "JPY", None)
    assert c.amount == Decimal(500_000)  # 500,000.5 floored
    assert c.children[0].formula == "amount"
    assert c.children[0].name == "deposit d1 (fixed_deposit, Example Trust)"
    # term (HK "six months or less", counted in calendar months since issue 14): with only
    # maturity_days, a term counts when no longer than the shortest six months can be
    # (Feb-Jul: 28 + 31 + 30 + 31 + 30 + 31 = 181 days); 182 days may exceed six months.
    assert deposit_credit([deposit()], FORMS, "JPY", None, max_term_months=6).amount == Decimal(500_000)
    late = deposit_credit([deposit(maturity_days=182)], FORMS, "JPY", None, max_term_months=6)
    assert late.amount == 0
    assert late.children[0].formula.startswith("not counted: term of 182 days may exceed 6 calendar months")
    # with the dates, calendar months decide: 2026-07-01 to 2027-01-01 is 184 days, six months
    dated = deposit(maturity_days=None, placed=dt.date(2026, 7, 1), matures=dt.date(2027, 1, 1))
    assert deposit_credit([dated], FORMS, "JPY", None, max_term_months=6).amount == Decimal(500_000)
    unknown = deposit_credit([deposit(maturity_days=None)], FORMS, "JPY", None, max_term_months=6)
    assert unknown.amount == 0
    # the term limit concerns fixed deposits only
    cash = deposit(form=DepositForm.CASH_TRUST, maturity_days=None)
    assert deposit_credit([cash], FORMS, "JPY", None, max_term_months=6).amount == Decimal(500_000)
    # a form not allowed, or not on trust where trust is required: nothing, with the reasons
    bonds = deposit_credit([deposit(form=DepositForm.GOVERNMENT_BONDS)], FORMS, "JPY", None)
    assert bonds.amount == 0
    assert bonds.children[0].formula == "not counted: form government_bonds not allowed"
    off_trust = deposit_credit([deposit(on_trust=False)], FORMS, "JPY", None, require_trust=True)
    assert off_trust.amount == 0
    assert off_trust.children[0].formula == "not counted: not held on trust"
    assert deposit_credit([deposit(on_trust=False)], FORMS, "JPY", None).amount == Decimal(500_000)


def test_the_explanation_tree_says_what_counted_and_why_not():
    # what the CLI, API and reports show: every label, currency, citation, input and child amount
    from caspr.citation import Citation

    cite = Citation(instrument="Example Act", article="1", url="https://example.org/act")
    ins = insurance_credit(
        [policy(), policy(id="p2", covers=(Cover.COLD,), insurer_affiliated=True)], AS_OF, HOT, "JPY", cite
    )
    assert (ins.name, ins.amount, ins.currency, ins.formula, ins.citation) == (
        "insurance",
        Decimal(990_000),
        "JPY",
        "Σ eligible policies",
        cite,
    )
    counted, refused = ins.children
    assert (counted.name, counted.amount, counted.currency) == (
        "policy p1 (Example Marine)",
        Decimal(990_000),
        "JPY",
    )
    assert (refused.name, refused.amount, refused.currency) == ("policy p2 (Example Marine)", 0, "JPY")
    assert refused.formula == "not counted: covers none of ['hot']; insurer is not a third party"
    res = deposit_credit(
        [deposit(), deposit(id="d2", form=DepositForm.ESCROW, on_trust=False)],
        FORMS,
        "JPY",
        cite,
        require_trust=True,
    )
    assert (res.name, res.amount, res.currency, res.formula, res.citation) == (
        "reserve",
        Decimal(500_000),
        "JPY",
        "Σ eligible deposits",
        cite,
    )
    ok, no = res.children
    assert (ok.amount, ok.currency, ok.inputs) == (Decimal(500_000), "JPY", (("amount", "500000.5"),))
    assert (no.name, no.amount, no.currency) == ("deposit d2 (escrow, Example Trust)", 0, "JPY")
    assert no.formula == "not counted: form escrow not allowed; not held on trust"
