"""eu-mica worked examples: Art. 67(1)-(6), Annex IV classes, Art. 70, Art. 143(3), rounding, FX."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from caspr.errors import InputError
from caspr.rules.eu_mica import casp_class
from caspr.rules.regime import Severity
from caspr.snapshot.schema import Licence
from tests.rules.helpers import btc_snapshot, run

ART_67_6 = (
    "loss_of_documents, misrepresentation, breach_of_duties, conflicts_of_interest, business_disruption, "
    "safeguarding_negligence, custody_liability"
)
POLICY = """\
policies:
  - id: pi
    insurer: Example Assurance SE
    limit: "50000"
    retention: "1000"
    basis: aggregate
    covers: [{covers}]
    starts: {starts}
    expires: {expires}
    currency: {currency}
    cancellation_notice_days: {notice}
    insurer_affiliated: false
"""


def policy(
    covers: str = ART_67_6,
    notice: int = 90,
    starts: str = "2026-01-01",
    expires: str = "2027-01-01",
    currency: str = "EUR",
) -> str:
    return POLICY.format(covers=covers, notice=notice, starts=starts, expires=expires, currency=currency)


def mica(
    tmp_path,
    overheads: str | None = "400000",
    licences: str = "custody, exchange_for_funds",
    own_funds: str | None = "100000",
    insurance: str | None = None,
    financials: str | None = None,
    currency: str = "EUR",
    extra: str = "",
    as_of: dt.date | None = None,
    regime: str | None = "eu-mica",
):
    if financials is None:
        parts = []
        if overheads is not None:
            parts.append(f'fixed_overheads_prev_year: "{overheads}"')
        if own_funds is not None:
            parts.append(f'own_funds: "{own_funds}"')
        financials = ";".join(parts)
    root = btc_snapshot(
        tmp_path / "s",
        jurisdiction="EU",
        currency=currency,
        fiat_scale=2,
        price="80000",
        hot="1",
        cold="9",
        licences=licences,
        financials=financials,
        insurance=insurance if insurance is not None else policy(currency=currency),
        fiat_owed="2500.50",
        fiat_trust="2500.50",
        exchange_extra=extra,
    )
    (a,) = run(root, regime, as_of=as_of).assessments
    return a


@pytest.mark.parametrize(
    ("licences", "klass"),
    [
        ((Licence.ADVICE,), 1),
        ((Licence.TRANSFER, Licence.CUSTODY), 2),
        ((Licence.EXCHANGE_FOR_CRYPTO,), 2),
        ((Licence.CUSTODY, Licence.TRADING_PLATFORM), 3),
    ],
)
def test_annex_iv_class_is_the_highest_licensed(licences, klass):
    assert casp_class(licences) == klass


def test_permanent_minimum_binds_below_the_crossover(tmp_path):
    a = mica(tmp_path, overheads="400000")  # ¼ × 400,000 = 100,000 < 125,000 (class 2)
    assert a.requirement.amount == Decimal(125_000)
    minimum, quarter = a.requirement.children
    assert minimum.amount == Decimal(125_000)
    assert quarter.amount == Decimal(100_000)


def test_exactly_at_the_crossover_both_give_the_same(tmp_path):
    a = mica(tmp_path, overheads="500000")  # ¼ × 500,000 = 125,000 = class 2 minimum
    assert a.requirement.amount == Decimal(125_000)
    assert a.requirement.children[1].amount == Decimal(125_000)


def test_overheads_bind_above_and_round_up_to_the_cent(tmp_path):
    a = mica(tmp_path, overheads="500001")  # ¼ × 500,001 = 125,000.25: already in cents
    assert a.requirement.amount == Decimal("125000.25")


def test_requirement_rounds_up_to_the_cent_and_half_a_euro_above_it_is_compliant(tmp_path):
    # Art. 67(1)(b): ¼ × €200,000.04 = €50,000.01 exactly; class 1 (advice) minimum €50,000
    # (Annex IV). Rounded up to the EUR minor unit (ISO 4217: 2 places) it stays €50,000.01,
    # not €50,001. Own funds €50,000.50 (floored to the cent: €50,000.50) ≥ €50,000.01.
    a = mica(
        tmp_path, overheads="200000.04", licences="advice", own_funds="50000.50", insurance="policies: []\n"
    )
    assert a.requirement.amount == Decimal("50000.01")
    assert a.funding.amount == Decimal("50000.50")
    assert not a.breaches


def test_trading_platform_is_class_3(tmp_path):
    a = mica(tmp_path, overheads="0", licences="trading_platform, custody")
    assert a.requirement.amount == Decimal(150_000)


def test_eligible_policy_counts_with_own_funds(tmp_path):
    a = mica(tmp_path, overheads="400000")  # 100,000 own funds + (50,000 − 1,000) insurance
    assert a.reserve == Decimal(100_000)
    assert a.insurance == Decimal(49_000)
    assert a.funding.amount == Decimal(149_000)
    assert not a.breaches


def test_the_json_names_own_funds_what_they_are(tmp_path):
    funding = mica(tmp_path).to_dict()["funding"]
    assert funding["own_funds"] == "100000"
    assert "reserve" not in funding


def test_policy_with_short_notice_is_not_eligible(tmp_path):
    a = mica(tmp_path, overheads="400000", insurance=policy(notice=60))  # Art. 67(5)(b): ≥ 90 days' notice
    assert a.insurance == 0
    (breach,) = a.breaches
    assert breach.rule == "eu.mica.67(1)"
    pi = a.funding.children[1].children[0]
    assert "cancellation notice 60 < 90 days" in pi.formula


def test_professional_liability_in_general_is_not_the_art_67_6_cover(tmp_path):
    # Art. 67(6): the policy must cover (a)-(e), and for a custodian (f) gross negligence in
    # safeguarding and (g) liability under Art. 75(8). A "professional liability, cyber" policy
    # does not say it does: it counts 0, so 100,000 own funds < 125,000 is a breach.
    a = mica(tmp_path, insurance=policy(covers="professional_liability, cyber"))
    assert a.insurance == 0
    assert [f.rule for f in a.breaches] == ["eu.mica.67(1)"]


def test_a_custodian_policy_without_75_8_liability_does_not_count(tmp_path):
    covers = ART_67_6.replace(", custody_liability", "")
    a = mica(tmp_path, insurance=policy(covers=covers))
    assert a.insurance == 0
    pi = a.funding.children[1].children[0]
    assert "does not cover ['custody_liability']" in pi.formula


def test_a_365_day_policy_one_day_short_of_a_calendar_year_does_not_count(tmp_path):
    # Art. 67(5)(a): initial term of at least one year. 2027-03-01 → 2028-02-29 runs 365 days
    # (2028 is a leap year) but the year from 2027-03-01 runs to the end of 2028-02-29, so the
    # policy would have to expire (exclusive) on 2028-03-01. Assessed on 2027-09-30.
    a = mica(
        tmp_path, insurance=policy(starts="2027-03-01", expires="2028-02-29"), as_of=dt.date(2027, 9, 30)
    )
    assert a.insurance == 0
    pi = a.funding.children[1].children[0]
    assert "shorter than 1 calendar year(s) (would need to run to 2028-03-01)" in pi.formula


def test_a_policy_of_one_calendar_year_across_29_february_counts(tmp_path):
    a = mica(
        tmp_path, insurance=policy(starts="2027-03-01", expires="2028-03-01"), as_of=dt.date(2027, 9, 30)
    )
    assert a.insurance == Decimal(49_000)  # 50,000 − 1,000


def test_missing_fixed_overheads_are_not_zero(tmp_path):
    # No fixed overheads given: ¼ × overheads is unknown, not ¼ × 0. The requirement shown is
    # the class 2 minimum (125,000) as a lower bound, with a finding that Art. 67(1) compliance
    # is not established, although 100,000 + 49,000 = 149,000 ≥ 125,000.
    a = mica(tmp_path, overheads=None)
    assert a.requirement.amount == Decimal(125_000)
    assert len(a.requirement.children) == 1
    assert "lower bound" in a.requirement.formula
    (missing,) = [f for f in a.findings if f.rule == "eu.mica.67(1)(b)"]
    assert missing.severity is Severity.WARNING
    assert "not established" in missing.message


def test_projected_overheads_for_a_firm_without_a_prior_year(tmp_path):
    # Art. 67(2): ¼ × projected €800,000.02 = €200,000.005 → rounded up to €200,000.01 > €125,000.
    a = mica(tmp_path, financials='projected_fixed_overheads: "800000.02";own_funds: "100000"')
    assert a.requirement.amount == Decimal("200000.01")
    assert "67(2)" in a.requirement.children[1].formula
    assert not [f for f in a.findings if f.rule == "eu.mica.67(1)(b)"]
    assert [f.rule for f in a.breaches] == ["eu.mica.67(1)"]  # 149,000 < 200,000.01


def test_missing_own_funds_count_nothing_and_say_so(tmp_path):
    a = mica(tmp_path, own_funds=None)
    assert a.reserve == 0
    (missing,) = [f for f in a.findings if f.rule == "eu.mica.67(4)(a)"]
    assert "no own_funds" in missing.message
    assert [f.rule for f in a.breaches] == ["eu.mica.67(1)"]  # 49,000 < 125,000


TRANSITIONAL = "mica: {authorisation: transitional, member_state: FR}\n"


def test_in_the_art_143_3_period_a_shortfall_is_a_warning(tmp_path):
    # 2026-05-01 is before 2026-07-01 (Art. 143(3)); 100,000 own funds, no policy < 125,000.
    a = mica(tmp_path, insurance="policies: []\n", extra=TRANSITIONAL, as_of=dt.date(2026, 5, 1))
    assert not a.breaches
    (period,) = [f for f in a.findings if f.rule == "eu.mica.143(3)"]
    assert period.severity is Severity.INFO
    (short,) = [f for f in a.findings if f.rule == "eu.mica.67(1)"]
    assert short.severity is Severity.WARNING


def test_after_2026_07_01_the_transitional_period_is_over(tmp_path):
    a = mica(tmp_path, insurance="policies: []\n", extra=TRANSITIONAL)  # as_of 2026-09-30
    assert [f.rule for f in a.breaches] == ["eu.mica.143(3)", "eu.mica.67(1)"]
    assert "ended on 2026-07-01" in a.breaches[0].message


def test_a_member_state_may_end_the_period_sooner(tmp_path):
    extra = (
        "mica: {authorisation: transitional, member_state: NL, transitional_until: 2025-07-01,\n"
        "       transitional_source: national implementing act}\n"
    )
    a = mica(tmp_path, insurance="policies: []\n", extra=extra, as_of=dt.date(2026, 5, 1))
    assert a.breaches[0].rule == "eu.mica.143(3)"
    assert "(NL) ended on 2025-07-01" in a.breaches[0].message


PLN_RATE = """\
fx_rates:
  - {base: EUR, quote: PLN, rate: "4.2675", date: 2026-09-29, source: ECB euro foreign exchange reference rate}
"""


def test_a_casp_reporting_in_zloty_is_assessed_at_the_rate_its_snapshot_supplies(tmp_path):
    # Annex IV class 2: €125,000 × 4.2675 PLN/EUR = PLN 533,437.50; ¼ × PLN 1,000,000.02 =
    # PLN 250,000.005. The higher, rounded up to the grosz: PLN 533,437.50. Own funds PLN
    # 600,000 + policy (50,000 − 1,000) = PLN 649,000 ≥ it.
    a = mica(tmp_path, overheads="1000000.02", own_funds="600000", currency="PLN", extra=PLN_RATE)
    assert a.currency == "PLN"
    assert a.requirement.amount == Decimal("533437.50")
    minimum = a.requirement.children[0]
    assert (
        dict(minimum.inputs)["rate"]
        == "1 EUR = 4.2675 PLN (ECB euro foreign exchange reference rate, 2026-09-29)"
    )
    assert dict(minimum.inputs)["EUR amount"] == "125000"
    assert not a.breaches


def test_a_zloty_snapshot_without_a_rate_is_bad_input(tmp_path):
    with pytest.raises(InputError) as error:
        mica(tmp_path, currency="PLN", regime=None)  # the EU regimes of an EU exchange
    (problem,) = error.value.problems
    assert (problem.file, problem.column) == ("exchange.yaml", "fx_rates")
    assert "no EUR→PLN rate" in problem.message


def test_the_cli_names_own_funds_and_shows_cents(tmp_path):
    from typer.testing import CliRunner

    from caspr.cli.main import app

    root = btc_snapshot(
        tmp_path / "s",
        jurisdiction="EU",
        currency="EUR",
        fiat_scale=2,
        price="80000",
        hot="1",
        cold="9",
        financials='fixed_overheads_prev_year: "400000";own_funds: "100000"',
        insurance=policy(),
    )
    result = CliRunner().invoke(app, ["assess", str(root), "--regime", "eu-mica"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    # the headline names own funds as such, in cents (ISO 4217: EUR has 2 decimal places)
    assert (
        "requirement 125,000.00 EUR · funding 149,000.00 EUR (own funds 100,000.00, insurance 49,000.00)"
        in (result.output)
    )
