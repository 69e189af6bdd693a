"""jp-crypto-reserve: Japan's proposed liability reserve (責任準備金) for crypto exchanges.

PROPOSED. The FSA Working Group report (2025-12-10) and the 2026 FIEA amendment bill
call for a liability reserve against unauthorized outflows, modelled on the securities
brokers' 金融商品取引責任準備金 (FIEA Art. 46-5; 金商業等府令 Art. 175), sized with
reference to trading volume and past outflow incidents, covering cold-managed assets
too, drawable without individual approval, and partly coverable by insurance. No formula
has been published (docs/sources.md), so this is a transparent,
parameterised structure whose every default is marked ``proposed`` and
``illustrative`` (no published source; each parameter file says why it was chosen):

    requirement = max(floor, volume + custody + incident)
    volume   = Σ_category trailing-12-month notional × volume_rate_category
    custody  = hot customer 暗号資産 × custody_rate_hot + cold/custodian × custody_rate_cold
    incident = incident_weight × (outflow losses of the preceding 3 years ÷ 3)   [yen add-on]
    assets set aside = eligible reserve deposits + min(insurance credit, insurance_cap_share × requirement)
    accounting reserve = the reserve as booked on the balance sheet (reserve.yaml ``booked``)

Both funding views are compared with ``funding_share × requirement``. Results are
**projections**, never breaches: the rule is not law (Severity.PROJECTION). Electronic
payment instruments (``kind: epi``) are not 暗号資産 and stay out of the custody base.

Assumptions are in :mod:`caspr.rules.jp_crypto_reserve.assumptions`.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from caspr.citation import Status
from caspr.component import Component
from caspr.money import canonical, round_credit, round_requirement, total_of
from caspr.params import ParameterView, ParamValue
from caspr.reserve import deposit_credit, insurance_credit
from caspr.rules.jp_crypto_reserve.assumptions import (
    ELIGIBLE_FORMS,
    INCIDENT_LOSSES_KEY,
    POLICY_CONDITIONS,
    RATED_CATEGORIES,
)
from caspr.rules.jp_custody import CRYPTO_ASSET_KINDS
from caspr.rules.regime import Assessment, Context, Finding, Severity, assessment


class JpCryptoReserve:
    """The proposed Japanese crypto liability reserve."""

    id = "jp-crypto-reserve"
    title = "Japan: crypto liability reserve (責任準備金, proposed FIEA amendment)"
    status = Status.PROPOSED
    jurisdictions: tuple[str, ...] = ("JP",)
    currency: str | None = "JPY"
    fx_convertible = False
    parameters_dir = Path(__file__).parent / "parameters"

    def assess(self, ctx: Context, params: ParameterView) -> Assessment:
        """Requirement, both funding views, and their projections (never breaches)."""
        requirement = requirement_component(ctx, params)
        share = params("funding_share")
        reserve = deposit_credit(ctx.snapshot.deposits, ELIGIBLE_FORMS, ctx.currency, share.citation)
        insurance = capped_insurance(ctx, params, requirement.amount)
        funding = Component(
            "funding",
            reserve.amount + insurance.amount,
            ctx.currency,
            "assets set aside: eligible deposits + capped insurance",
            citation=share.citation,
            children=(reserve, insurance),
        )
        needed = round_requirement(requirement.amount * share.value)
        findings = [
            Finding.applying(
                "jp.reserve.status",
                Severity.INFO,
                "proposed rule: illustrative parameters with no published source; results are "
                "projections, not law",
                share,
            ),
            *funding_projection(
                "jp.reserve.funding", "assets set aside", funding.amount, needed, ctx.currency, share
            ),
        ]
        booked = booked_component(ctx, share)
        if booked is None:
            findings.append(
                Finding.applying(
                    "jp.reserve.booked",
                    Severity.INFO,
                    "accounting view unchecked: reserve.yaml states no booked reserve "
                    "(booked: amount as on the balance sheet, the FIEA 46-5 analogue)",
                    share,
                )
            )
        else:
            findings.extend(
                funding_projection(
                    "jp.reserve.booked",
                    "accounting reserve (booked)",
                    booked.amount,
                    needed,
                    ctx.currency,
                    share,
                )
            )
        return assessment(
            self,
            ctx,
            params,
            requirement,
            funding,
            reserve.amount,
            insurance.amount,
            findings,
            accounting=booked,
        )


def funding_projection(
    rule: str, view: str, funded: Decimal, needed: Decimal, currency: str, share: ParamValue
) -> list[Finding]:
    """A projected shortfall of one funding view (none when funded ≥ needed)."""
    if funded >= needed:
        return []
    return [
        Finding.applying(
            rule,
            Severity.PROJECTION,
            f"{view} {canonical(funded)} < projected requirement {canonical(needed)} {currency} "
            f"(short {canonical(needed - funded)}); proposed rule, not law",
            share,
        )
    ]


def booked_component(ctx: Context, share: ParamValue) -> Component | None:
    """The reserve as booked on the balance sheet (a liability-side reserve, FIEA 46-5 analogue).

    The securities reserve the plan is modelled on is accumulated through P&L and shown
    among liabilities; it need not be matched by earmarked assets. A snapshot may state it
    in ``reserve.yaml`` (``booked``); it is shown beside the assets set aside, never added
    to them.
    """
    booked = ctx.snapshot.booked_reserve
    if booked is None:
        return None
    return Component(
        "accounting reserve (booked)",
        round_credit(booked.amount),
        ctx.currency,
        "balance-sheet reserve as booked (liability side; not added to assets set aside)",
        inputs=(("booked_on", booked.as_of.isoformat()), ("account", booked.account)),
        citation=share.citation,
    )


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
    """Customer 暗号資産 held hot and cold, valued at the snapshot prices, × a rate each.

    Electronic payment instruments (``epi``) are not 暗号資産 and are left out;
    unclassified ``stablecoin`` is kept in (the larger requirement).
    """
    rows = [a for a in ctx.exposure.assets if a.kind in CRYPTO_ASSET_KINDS]
    hot = total_of([a.customer_hot * a.price for a in rows])
    cold = total_of([(a.customer_cold + a.customer_custodian) * a.price for a in rows])
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
    """incident_weight × annualised outflow losses of the preceding 3 years, in yen.

    An absolute add-on (weight 1 adds one average year of recent losses), not a rate: the
    commodity brokers' 事故率 (A/B) is a ratio that scales a rate; the ratio of losses to
    volume is shown as an input for comparison only.
    """
    weight = params("incident_weight")
    losses = ctx.snapshot.exchange.financials.get(INCIDENT_LOSSES_KEY, Decimal(0))
    volume = total_of(list(ctx.volumes.values()))
    ratio = losses / (3 * volume) if volume else Decimal(0)
    return Component(
        "incident adjustment",
        weight.value * losses / 3,
        ctx.currency,
        "weight × losses_3y ÷ 3 (yen add-on)",
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
        citation=floor.citation,
        children=parts,
    )


def capped_insurance(ctx: Context, params: ParameterView, requirement: Decimal) -> Component:
    """Eligible insurance, capped at insurance_cap_share × requirement, rounded down."""
    cap = params("insurance_cap_share")
    raw = insurance_credit(ctx.snapshot.policies, ctx.as_of, POLICY_CONDITIONS, ctx.currency, cap.citation)
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
