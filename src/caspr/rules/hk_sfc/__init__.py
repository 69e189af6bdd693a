"""hk-sfc: Hong Kong SFC VATP Guidelines, cold storage and compensation arrangement (in force).

* 10.6(c): at least 98% of client virtual assets in cold storage.
* Compensation arrangement: cover of 100% of client virtual assets in hot and other
  storage and at least 50% of those in cold storage, by third-party insurance, funds set
  aside on trust (demand deposits, or fixed deposits of at most 6 months), a bank
  guarantee, or any combination. **The paragraph number is not verified**: secondary
  sources put it near 10.22, and the SFC text was not read, so every citation of it says
  so (status ``unverified``) until it is checked against the Guidelines.
* "Six months or less" is counted in calendar months (:mod:`caspr.periods`): a six-month
  fixed deposit from 2026-07-01 to 2027-01-01 runs 184 days and counts.

Sources: docs/sources.md, Hong Kong (law-firm notes on the VATP Guidelines, Sidley, May 2023;
secondary: every parameter is marked ``needs_primary_check``).
"""

from __future__ import annotations

from pathlib import Path

from caspr.citation import Citation, Status
from caspr.component import Component
from caspr.money import canonical, round_requirement_in
from caspr.params import ParameterView
from caspr.reserve import PolicyConditions, deposit_credit, insurance_credit
from caspr.rules.regime import Assessment, Context, Finding, Severity, assessment, ratio_text
from caspr.snapshot.schema import Cover, DepositForm

GUIDELINES = Citation(
    instrument="SFC Guidelines for Virtual Asset Trading Platform Operators",
    article="compensation arrangement (paragraph number not verified; reported as 10.22)",
    url="https://sidley.com/zh-hans/insights/newsupdates/2023/5/hk-vatp-licensing-regime-2-key-infrastructure-requirements-under-the-vatp-guidelines",
    status=Status.UNVERIFIED,
    note="the rule is in force (law-firm notes); its paragraph number was not checked against the SFC text",
)
FORMS = frozenset(
    {
        DepositForm.CASH_TRUST,
        DepositForm.DEPOSIT,
        DepositForm.FIXED_DEPOSIT,
        DepositForm.BANK_GUARANTEE,
        DepositForm.ESCROW,
    }
)
CONDITIONS = PolicyConditions(risks=frozenset({Cover.HOT, Cover.COLD, Cover.CUSTODIAN}), third_party=True)


class HkSfc:
    """Hong Kong VATP cold-storage and compensation-arrangement rules."""

    id = "hk-sfc"
    title = "Hong Kong: SFC VATP cold storage and compensation arrangement"
    status = Status.IN_FORCE
    jurisdictions: tuple[str, ...] = ("HK",)
    currency: str | None = None
    fx_convertible = False
    parameters_dir = Path(__file__).parent / "parameters"

    def assess(self, ctx: Context, params: ParameterView) -> Assessment:
        """Compensation-arrangement requirement vs. trust funds, guarantees and insurance."""
        requirement = arrangement_requirement(ctx, params)
        reserve = deposit_credit(
            ctx.snapshot.deposits,
            FORMS,
            ctx.currency,
            GUIDELINES,
            max_term_months=int(params.value("max_fixed_deposit_months")),
            require_trust=True,
        )
        insurance = insurance_credit(ctx.snapshot.policies, ctx.as_of, CONDITIONS, ctx.currency, GUIDELINES)
        funding = Component(
            "funding",
            reserve.amount + insurance.amount,
            ctx.currency,
            "set-aside funds + guarantees + insurance",
            citation=GUIDELINES,
            children=(reserve, insurance),
        )
        findings = [cold_share(ctx, params)]
        if funding.amount < requirement.amount:
            findings.append(
                Finding(
                    "hk.sfc.compensation",
                    Severity.BREACH,
                    f"arrangement {canonical(funding.amount)} < required "
                    f"{canonical(requirement.amount)} {ctx.currency}",
                    GUIDELINES,
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
            reserve_label="set_aside",
        )


def arrangement_requirement(ctx: Context, params: ParameterView) -> Component:
    """cover_hot_share × (hot + other storage) + cover_cold_share × cold, rounded up."""
    hot = ctx.exposure.total("customer_hot") + ctx.exposure.total("customer_custodian")
    cold = ctx.exposure.total("customer_cold")
    hot_share, cold_share_param = params("cover_hot_share"), params("cover_cold_share")
    children = (
        Component(
            "hot and other storage",
            hot * hot_share.value,
            ctx.currency,
            "value × cover share",
            inputs=(("value", canonical(hot)), ("share", canonical(hot_share.value))),
            citation=hot_share.citation,
        ),
        Component(
            "cold storage",
            cold * cold_share_param.value,
            ctx.currency,
            "value × cover share",
            inputs=(("value", canonical(cold)), ("share", canonical(cold_share_param.value))),
            citation=cold_share_param.citation,
        ),
    )
    return Component(
        "requirement",
        round_requirement_in(children[0].amount + children[1].amount, ctx.currency),
        ctx.currency,
        "hot/other cover + cold cover, rounded up to the minor unit",
        citation=GUIDELINES,
        children=children,
    )


def cold_share(ctx: Context, params: ParameterView) -> Finding:
    """10.6(c): cold ≥ 98% of client virtual assets by value; exactly 98% passes."""
    minimum = params("min_cold_share")
    cold = ctx.exposure.total("customer_cold")
    total = cold + ctx.exposure.total("customer_hot") + ctx.exposure.total("customer_custodian")
    if total == 0:
        return Finding("hk.sfc.10.6(c)", Severity.INFO, "no client virtual assets", minimum.citation)
    text = (
        f"cold storage holds {ratio_text(cold / total * 100, 4)}% of client virtual assets "
        f"(minimum {ratio_text(minimum.value * 100, 2)}%)"
    )
    severity = Severity.BREACH if cold < total * minimum.value else Severity.INFO
    return Finding("hk.sfc.10.6(c)", severity, text, minimum.citation)


REGIME = HkSfc()
