"""jp-crypto-reserve: Japan's proposed liability reserve (責任準備金) for crypto exchanges.

PROPOSED. The FSA Working Group report (2025-12-10) and the 2026 FIEA amendment bill
call for a liability reserve against unauthorized outflows, modelled on the securities
brokers' 金融商品取引責任準備金 (FIEA Art. 46-5; 金商業等府令 Art. 175), sized with
reference to trading volume and past outflow incidents, covering cold-managed assets
too, drawable without individual approval, and partly coverable by insurance. No formula
has been published (docs/sources.md), so this is a transparent,
parameterised structure whose every default is marked ``proposed``:

    requirement = max(floor, volume + custody + incident)
    volume   = Σ_category trailing-12-month notional × volume_rate_category
    custody  = hot customer crypto × custody_rate_hot + cold/custodian × custody_rate_cold
    incident = incident_weight × (outflow losses of the preceding 3 years ÷ 3)
    funding  = eligible reserve deposits + min(insurance credit, insurance_cap_share × requirement)

Assumptions are in :mod:`caspr.rules.jp_crypto_reserve.assumptions`.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from caspr.citation import Citation, Status
from caspr.component import Component
from caspr.money import canonical, round_credit, round_requirement, total_of
from caspr.params import ParameterView
from caspr.reserve import deposit_credit, insurance_credit
from caspr.rules.jp_crypto_reserve.assumptions import (
    ELIGIBLE_FORMS,
    INCIDENT_LOSSES_KEY,
    POLICY_CONDITIONS,
    RATED_CATEGORIES,
)
from caspr.rules.regime import Assessment, Context, Finding, Severity, assessment

BASIS = Citation(
    instrument="FSA Working Group on Crypto-asset Systems report",
    article="責任準備金",
    url="https://www.coindeskjapan.com/325769",
    status=Status.PROPOSED,
    note="modelled on FIEA Art. 46-5; formula not published",
)


class JpCryptoReserve:
    """The proposed Japanese crypto liability reserve."""

    id = "jp-crypto-reserve"
    title = "Japan: crypto liability reserve (責任準備金, proposed FIEA amendment)"
    status = Status.PROPOSED
    jurisdictions: tuple[str, ...] = ("JP",)
    currency: str | None = "JPY"
    parameters_dir = Path(__file__).parent / "parameters"

    def assess(self, ctx: Context, params: ParameterView) -> Assessment:
        """Requirement, funding (reserve + capped insurance) and the shortfall finding."""
        requirement = requirement_component(ctx, params)
        reserve = deposit_credit(ctx.snapshot.deposits, ELIGIBLE_FORMS, ctx.currency, BASIS)
        insurance = capped_insurance(ctx, params, requirement.amount)
        funding = Component(
            "funding",
            reserve.amount + insurance.amount,
            ctx.currency,
            "reserve + capped insurance",
            citation=BASIS,
            children=(reserve, insurance),
        )
        findings = [
            Finding(
                "jp.reserve.status",
                Severity.INFO,
                "proposed rule: illustrative parameters, no legal effect yet",
                BASIS,
            )
        ]
        if funding.amount < requirement.amount:
            findings.append(
                Finding(
                    "jp.reserve.funding",
                    Severity.BREACH,
                    f"funded {canonical(funding.amount)} < required {canonical(requirement.amount)} JPY "
                    f"(short {canonical(requirement.amount - funding.amount)})",
                    BASIS,
                )
            )
        return assessment(self, ctx, params, requirement, funding, reserve.amount, insurance.amount, findings)


def volume_component(ctx: Context, params: ParameterView) -> Component:
    """Σ trailing-12-month notional per category × that category's rate (FIEA 46-5 model)."""
    children = []
    for category, notional in sorted(ctx.volumes.items()):
        name = f"volume_rate_{category}" if category in RATED_CATEGORIES else "volume_rate_other"
        rate = params(name)
        children.append(
            Component(
                f"volume {category}",
                notional * rate.value,
                ctx.currency,
                "notional × rate",
                inputs=(("notional", canonical(notional)), ("rate", canonical(rate.value))),
                citation=rate.citation,
            )
        )
    return Component(
        "volume component",
        total_of([c.amount for c in children]),
        ctx.currency,
        "Σ category notional (trailing 12 months) × rate",
        children=tuple(children),
    )


def custody_component(ctx: Context, params: ParameterView) -> Component:
    """Customer crypto held hot and cold, valued at the snapshot prices, × a rate each."""
    hot = ctx.exposure.total("customer_hot")
    cold = ctx.exposure.total("customer_cold") + ctx.exposure.total("customer_custodian")
    hot_rate, cold_rate = params("custody_rate_hot"), params("custody_rate_cold")
    children = (
        Component(
            "custody hot",
            hot * hot_rate.value,
            ctx.currency,
            "hot customer crypto value × rate",
            inputs=(("value", canonical(hot)), ("rate", canonical(hot_rate.value))),
            citation=hot_rate.citation,
        ),
        Component(
            "custody cold",
            cold * cold_rate.value,
            ctx.currency,
            "cold + custodian customer crypto value × rate",
            inputs=(("value", canonical(cold)), ("rate", canonical(cold_rate.value))),
            citation=cold_rate.citation,
        ),
    )
    return Component(
        "custody component",
        children[0].amount + children[1].amount,
        ctx.currency,
        "hot + cold",
        children=children,
    )


def incident_component(ctx: Context, params: ParameterView) -> Component:
    """incident_weight × annualised outflow losses of the preceding 3 years (事故率 analogue)."""
    weight = params("incident_weight")
    losses = ctx.snapshot.exchange.financials.get(INCIDENT_LOSSES_KEY, Decimal(0))
    volume = total_of(list(ctx.volumes.values()))
    ratio = losses / (3 * volume) if volume else Decimal(0)
    return Component(
        "incident adjustment",
        weight.value * losses / 3,
        ctx.currency,
        "weight × losses_3y ÷ 3",
        inputs=(
            ("losses_3y", canonical(losses)),
            ("weight", canonical(weight.value)),
            ("loss_ratio_to_volume", canonical(round_credit(ratio, 10))),
        ),
        citation=weight.citation,
    )


def requirement_component(ctx: Context, params: ParameterView) -> Component:
    """max(floor, volume + custody + incident), rounded up to the yen."""
    parts = (volume_component(ctx, params), custody_component(ctx, params), incident_component(ctx, params))
    computed = total_of([p.amount for p in parts])
    floor = params("floor")
    amount = round_requirement(max(computed, floor.value))
    formula = "max(floor, volume + custody + incident), rounded up"
    return Component(
        "requirement",
        amount,
        ctx.currency,
        formula,
        inputs=(("computed", canonical(computed)), ("floor", canonical(floor.value))),
        citation=BASIS,
        children=parts,
    )


def capped_insurance(ctx: Context, params: ParameterView, requirement: Decimal) -> Component:
    """Eligible insurance, capped at insurance_cap_share × requirement, rounded down."""
    cap = params("insurance_cap_share")
    raw = insurance_credit(ctx.snapshot.policies, ctx.as_of, POLICY_CONDITIONS, ctx.currency, BASIS)
    limit = round_credit(requirement * cap.value)
    amount = min(raw.amount, limit)
    return Component(
        "insurance (capped)",
        amount,
        ctx.currency,
        "min(Σ eligible policies, cap × requirement)",
        inputs=(("uncapped", canonical(raw.amount)), ("cap", canonical(limit))),
        citation=cap.citation,
        children=(raw,),
    )


REGIME = JpCryptoReserve()
