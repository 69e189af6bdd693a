"""eu-mica: MiCA prudential requirements for CASPs (Regulation (EU) 2023/1114, in force).

* Art. 67(1): prudential safeguards ≥ the higher of (a) the Annex IV permanent minimum
  capital of the CASP's class and (b) one quarter of the preceding year's fixed overheads
  (Art. 67(3) says how they are computed); Art. 67(2): a CASP not yet in business for a
  year uses the projected fixed overheads of its first 12 months. A missing figure is
  never read as zero: the requirement is then the Annex IV minimum, shown as a lower
  bound, with a finding that compliance is not established.
* Annex IV: class 1 €50,000; class 2 €125,000 (custody, exchange for funds or for other
  crypto-assets); class 3 €150,000 (operating a trading platform). The class is the
  highest among the services licensed (ESMA Q&A 2343).
* Art. 67(4)-(6): own funds (CET1), an insurance policy, or both. An eligible policy has an
  initial term of at least one calendar year, ≥ 90 days' cancellation notice, a
  third-party insurer (67(5)), and covers every risk of 67(6)(a)-(e), plus (f) gross
  negligence in safeguarding clients' crypto-assets and funds and (g) liability under
  Art. 75(8) where they apply (:mod:`caspr.rules.eu_mica.assumptions`).
* Art. 143(3): a CASP providing services under national law before 2024-12-30 may go on
  until 2026-07-01 at the latest (a member state may shorten it); Art. 67 binds it once
  authorised, so in the period a shortfall is a warning, and after it a breach.
* Rounding: requirements up, credits down, to the minor unit of the reporting currency.
* A CASP reporting in another currency (PLN, SEK, CZK, HUF, ...) is assessed with the
  EUR rate its snapshot supplies (``exchange.yaml`` ``fx_rates``); every converted figure
  shows the rate, its date and source; caspr never invents one.
* Art. 70: clients' funds placed with a credit institution or central bank.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from caspr.citation import Citation, Status
from caspr.component import Component
from caspr.currency import FxRate
from caspr.money import AssetKind, canonical, round_credit_in, round_requirement_in
from caspr.params import ParameterView
from caspr.reserve import PolicyConditions, insurance_credit
from caspr.rules.eu_mica.assumptions import covers_required
from caspr.rules.regime import Assessment, Context, Finding, Severity, assessment
from caspr.snapshot.schema import Licence, MicaAuthorisation

MICA = "Regulation (EU) 2023/1114 (MiCA)"
MICA_URL = "https://eur-lex.europa.eu/eli/reg/2023/1114/oj"
ART_67 = Citation(instrument=MICA, article="67", url=MICA_URL)
ART_67_1_B = Citation(instrument=MICA, article="67(1)(b), 67(2), 67(3)", url=MICA_URL)
ART_67_4_A = Citation(instrument=MICA, article="67(4)(a)", url=MICA_URL)
ART_70 = Citation(instrument=MICA, article="70", url=MICA_URL)

FIXED_OVERHEADS = "fixed_overheads_prev_year"
"""``financials`` key: the preceding year's fixed overheads (Art. 67(1)(b), computed per 67(3))."""
PROJECTED_OVERHEADS = "projected_fixed_overheads"
"""``financials`` key: projected fixed overheads of the first 12 months (Art. 67(2))."""
OWN_FUNDS = "own_funds"
"""``financials`` key: own funds, CET1 items after deductions (Art. 67(4)(a))."""

CLASS_3 = frozenset({Licence.TRADING_PLATFORM})
CLASS_2 = frozenset({Licence.CUSTODY, Licence.EXCHANGE_FOR_FUNDS, Licence.EXCHANGE_FOR_CRYPTO})


def casp_class(licences: tuple[Licence, ...]) -> int:
    """Annex IV class: 3 for a trading platform, 2 for custody or exchange, else 1."""
    held = set(licences)
    if held & CLASS_3:
        return 3
    if held & CLASS_2:
        return 2
    return 1


class EuMica:
    """MiCA own funds and client-funds checks."""

    id = "eu-mica"
    title = "EU: MiCA own funds (Art. 67, Annex IV) and client funds (Art. 70)"
    status = Status.IN_FORCE
    jurisdictions: tuple[str, ...] = ("EU",)
    currency: str | None = "EUR"
    fx_convertible = True
    parameters_dir = Path(__file__).parent / "parameters"

    def assess(self, ctx: Context, params: ParameterView) -> Assessment:
        """Own-funds requirement against own funds plus eligible insurance."""
        fx = ctx.fx_rate("EUR")
        requirement, findings = own_funds_requirement(ctx, params, fx)
        own, own_findings = own_funds(ctx)
        findings.extend(own_findings)
        conditions = PolicyConditions(
            risks=covers_required(ctx),
            required_covers=covers_required(ctx),
            third_party=True,
            min_term_years=int(params.value("insurance_min_term_years")),
            min_notice_days=int(params.value("insurance_min_notice_days")),
        )
        insurance = insurance_credit(
            ctx.snapshot.policies,
            ctx.as_of,
            conditions,
            ctx.currency,
            Citation(instrument=MICA, article="67(4)(b), 67(5), 67(6)", url=MICA_URL),
        )
        funding = Component(
            "funding",
            own.amount + insurance.amount,
            ctx.currency,
            "own funds + eligible insurance",
            citation=ART_67,
            children=(own, insurance),
        )
        in_period, period_findings = transitional(ctx, params)
        findings = period_findings + findings
        findings.extend(shortfall(ctx, requirement, funding, in_period))
        findings.extend(client_funds(ctx))
        return assessment(
            self,
            ctx,
            params,
            requirement,
            funding,
            own.amount,
            insurance.amount,
            findings,
            reserve_label="own_funds",
        )


def in_reporting(amount_eur: Decimal, fx: FxRate | None) -> Decimal:
    """A EUR amount in the reporting currency at the supplied rate (exact; rounded by the caller)."""
    return amount_eur if fx is None else amount_eur * fx.rate


def overheads(ctx: Context) -> tuple[str, Decimal] | None:
    """The fixed overheads Art. 67 reads and the ``financials`` key they came from (None: neither given).

    The preceding year's figure (67(1)(b)) when given; else the projection of the first
    12 months (67(2)), for a CASP not yet a year in business.
    """
    financials = ctx.snapshot.exchange.financials
    for key in (FIXED_OVERHEADS, PROJECTED_OVERHEADS):
        if key in financials:
            return key, financials[key]
    return None


def own_funds_requirement(
    ctx: Context, params: ParameterView, fx: FxRate | None
) -> tuple[Component, list[Finding]]:
    """Art. 67(1): max(Annex IV permanent minimum, ¼ × fixed overheads), rounded up to the minor unit."""
    klass = casp_class(ctx.snapshot.exchange.licences)
    minimum = params(f"permanent_minimum_class_{klass}")
    share = params("overheads_share")
    inputs: tuple[tuple[str, str], ...] = (
        ("licences", ",".join(lic.value for lic in ctx.snapshot.exchange.licences)),
    )
    formula = "class by licences: 3 trading platform; 2 custody/exchange; 1 other"
    if fx is not None:
        inputs += (("EUR amount", canonical(minimum.value)), ("rate", fx.label()))
        formula += f"; EUR amount × rate ({fx.label()})"
    children = [
        Component(
            f"Annex IV permanent minimum (class {klass})",
            in_reporting(minimum.value, fx),
            ctx.currency,
            formula,
            inputs=inputs,
            citation=minimum.citation,
        )
    ]
    findings: list[Finding] = []
    found = overheads(ctx)
    if found is None:
        findings.append(
            Finding(
                "eu.mica.67(1)(b)",
                Severity.WARNING,
                f"financials has neither {FIXED_OVERHEADS} (Art. 67(1)(b), 67(3)) nor {PROJECTED_OVERHEADS} "
                "(Art. 67(2), a CASP less than a year in business): the requirement shown is the Annex IV "
                "minimum only, a lower bound, and compliance with Art. 67(1) is not established",
                ART_67_1_B,
            )
        )
        formula = "Annex IV permanent minimum only (fixed overheads not given: a lower bound)"
    else:
        key, value = found
        children.append(
            Component(
                "fixed overheads share",
                value * share.value,
                ctx.currency,
                "share × "
                + (
                    "preceding year's fixed overheads"
                    if key == FIXED_OVERHEADS
                    else "projected fixed overheads of the first 12 months (Art. 67(2))"
                ),
                inputs=((key, canonical(value)), ("share", canonical(share.value))),
                citation=share.citation if key == FIXED_OVERHEADS else ART_67_1_B,
            )
        )
        formula = "max(permanent minimum, overheads share), rounded up to the minor unit"
    amount = round_requirement_in(max(c.amount for c in children), ctx.currency)
    requirement = Component(
        "requirement", amount, ctx.currency, formula, citation=ART_67, children=tuple(children)
    )
    return requirement, findings


def own_funds(ctx: Context) -> tuple[Component, list[Finding]]:
    """Art. 67(4)(a): ``financials.own_funds`` floored; if missing, nothing counts and a finding says so."""
    financials = ctx.snapshot.exchange.financials
    if OWN_FUNDS not in financials:
        finding = Finding(
            "eu.mica.67(4)(a)",
            Severity.WARNING,
            f"financials has no {OWN_FUNDS}: no own funds are counted",
            ART_67_4_A,
        )
        component = Component(
            "own funds (CET1)",
            Decimal(0),
            ctx.currency,
            f"not given (financials.{OWN_FUNDS} missing)",
            citation=ART_67_4_A,
        )
        return component, [finding]
    value = financials[OWN_FUNDS]
    own = round_credit_in(value, ctx.currency)
    component = Component(
        "own funds (CET1)",
        own,
        ctx.currency,
        f"financials.{OWN_FUNDS}, rounded down to the minor unit",
        inputs=((OWN_FUNDS, canonical(value)),),
        citation=ART_67_4_A,
    )
    return component, []


def transitional(ctx: Context, params: ParameterView) -> tuple[bool, list[Finding]]:
    """Art. 143(3): whether the CASP is in the transitional period, and what to say about it.

    An authorised CASP (the default) is bound by Art. 67 in full. One providing services
    under national law is within the period while it is open EU-wide (dated parameter)
    and, where its member state shortened it, before ``mica.transitional_until``.
    """
    mica = ctx.snapshot.exchange.mica
    if mica.authorisation is MicaAuthorisation.AUTHORISED:
        return False, []
    period = params("transitional_period")
    where = f" ({mica.member_state})" if mica.member_state else ""
    national = mica.transitional_until
    if period.value == 1 and (national is None or ctx.as_of < national):
        until = (
            f"until {national} ({mica.transitional_source})"
            if national is not None
            else "until 2026-07-01 at the latest, or until authorisation is granted or refused"
        )
        text = (
            f"provides services under national law{where} in the Art. 143(3) transitional period {until}; "
            "Art. 67 binds it once authorised, so a shortfall below is a warning of what it will need"
        )
        return True, [Finding("eu.mica.143(3)", Severity.INFO, text, period.citation)]
    ended = national if national is not None and ctx.as_of >= national else period.effective
    text = (
        f"the Art. 143(3) transitional period{where} ended on {ended}: providing crypto-asset services "
        "without MiCA authorisation is not allowed (Art. 59)"
    )
    return False, [Finding("eu.mica.143(3)", Severity.BREACH, text, period.citation)]


def shortfall(ctx: Context, requirement: Component, funding: Component, in_period: bool) -> list[Finding]:
    """Art. 67(1): funding below the requirement (a warning only in the Art. 143(3) period)."""
    if funding.amount >= requirement.amount:
        return []
    severity = Severity.WARNING if in_period else Severity.BREACH
    prefix = "once authorised: " if in_period else ""
    return [
        Finding(
            "eu.mica.67(1)",
            severity,
            f"{prefix}own funds and insurance {canonical(funding.amount)} < required "
            f"{canonical(requirement.amount)} {ctx.currency}",
            ART_67,
        )
    ]


def client_funds(ctx: Context) -> list[Finding]:
    """Art. 70: client money placed (fiat trust or bank, customer-owned) ≥ what clients are owed."""
    findings = []
    for a in ctx.exposure.assets:
        if a.kind is AssetKind.FIAT and a.customer_fiat < a.liabilities:
            findings.append(
                Finding(
                    "eu.mica.70",
                    Severity.BREACH,
                    f"{a.asset}: client funds placed {canonical(a.customer_fiat)} "
                    f"< owed {canonical(a.liabilities)}",
                    ART_70,
                )
            )
    return findings


REGIME = EuMica()
