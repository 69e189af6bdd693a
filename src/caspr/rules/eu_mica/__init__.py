"""eu-mica: MiCA prudential requirements for CASPs (Regulation (EU) 2023/1114, in force).

* Art. 67(1): own funds ≥ the higher of (a) the Annex IV permanent minimum capital of the
  CASP's class and (b) one quarter of the preceding year's fixed overheads.
* Annex IV: class 1 €50,000; class 2 €125,000 (custody, exchange for funds or for other
  crypto-assets); class 3 €150,000 (operating a trading platform). The class is the
  highest among the services licensed.
* Art. 67(4)-(6): own funds in the form of CET1 items, an insurance policy, or both; an
  eligible policy has an initial term ≥ 1 year, ≥ 90 days' cancellation notice, a
  third-party insurer, and covers the listed risks (professional liability).
* Art. 70: clients' funds placed with a credit institution or central bank.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from caspr.citation import Citation, Status
from caspr.component import Component
from caspr.money import AssetKind, canonical, round_credit, round_requirement
from caspr.params import ParameterView
from caspr.reserve import PolicyConditions, insurance_credit
from caspr.rules.regime import Assessment, Context, Finding, Severity, assessment
from caspr.snapshot.schema import Cover, Licence

MICA_URL = "https://eur-lex.europa.eu/eli/reg/2023/1114/oj"
ART_67 = Citation(instrument="Regulation (EU) 2023/1114 (MiCA)", article="67", url=MICA_URL)
ART_70 = Citation(instrument="Regulation (EU) 2023/1114 (MiCA)", article="70", url=MICA_URL)

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
    parameters_dir = Path(__file__).parent / "parameters"

    def assess(self, ctx: Context, params: ParameterView) -> Assessment:
        """Own-funds requirement against own funds plus eligible insurance."""
        requirement = own_funds_requirement(ctx, params)
        financials = ctx.snapshot.exchange.financials
        own = round_credit(financials.get("own_funds", Decimal(0)))
        own_funds = Component(
            "own funds (CET1)",
            own,
            ctx.currency,
            "financials.own_funds",
            inputs=(("own_funds", canonical(own)),),
            citation=ART_67,
        )
        conditions = PolicyConditions(
            risks=frozenset({Cover.PROFESSIONAL_LIABILITY}),
            third_party=True,
            min_term_days=int(params.value("insurance_min_term_days")),
            min_notice_days=int(params.value("insurance_min_notice_days")),
        )
        insurance = insurance_credit(
            ctx.snapshot.policies,
            ctx.as_of,
            conditions,
            ctx.currency,
            params("insurance_min_term_days").citation,
        )
        funding = Component(
            "funding",
            own + insurance.amount,
            ctx.currency,
            "own funds + eligible insurance",
            citation=ART_67,
            children=(own_funds, insurance),
        )
        findings = []
        if funding.amount < requirement.amount:
            findings.append(
                Finding(
                    "eu.mica.67(1)",
                    Severity.BREACH,
                    f"own funds and insurance {canonical(funding.amount)} < required "
                    f"{canonical(requirement.amount)} EUR",
                    ART_67,
                )
            )
        findings.extend(client_funds(ctx))
        return assessment(self, ctx, params, requirement, funding, own, insurance.amount, findings)


def own_funds_requirement(ctx: Context, params: ParameterView) -> Component:
    """Art. 67(1): max(Annex IV permanent minimum, ¼ × preceding year's fixed overheads)."""
    klass = casp_class(ctx.snapshot.exchange.licences)
    minimum = params(f"permanent_minimum_class_{klass}")
    overheads = ctx.snapshot.exchange.financials.get("fixed_overheads_prev_year", Decimal(0))
    share = params("overheads_share")
    quarter = overheads * share.value
    children = (
        Component(
            f"Annex IV permanent minimum (class {klass})",
            minimum.value,
            ctx.currency,
            "class by licences: 3 trading platform; 2 custody/exchange; 1 other",
            inputs=(("licences", ",".join(lic.value for lic in ctx.snapshot.exchange.licences)),),
            citation=minimum.citation,
        ),
        Component(
            "fixed overheads share",
            quarter,
            ctx.currency,
            "share × preceding year's fixed overheads",
            inputs=(("fixed_overheads_prev_year", canonical(overheads)), ("share", canonical(share.value))),
            citation=share.citation,
        ),
    )
    amount = round_requirement(max(minimum.value, quarter))
    return Component(
        "requirement",
        amount,
        ctx.currency,
        "max(permanent minimum, overheads share)",
        citation=ART_67,
        children=children,
    )


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
