"""kr-vaupa: Korea's Virtual Asset User Protection Act and Enforcement Decree (since 2024-07-19).

* Decree Art. 6 (as reported): ≥ 80% of users' virtual assets in cold wallets by economic
  value; insurance or reserve ≥ 5% of the value held in hot wallets, at least KRW 3bn for
  KRW-market exchanges and KRW 0.5bn for others.
* Economic value is defined with one-year average prices; a snapshot carries one price
  per asset, so this uses it (assumption, stated in the finding) until price history is
  part of the snapshot.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from caspr.citation import Citation, Status
from caspr.component import Component
from caspr.money import canonical, round_requirement
from caspr.params import ParameterView
from caspr.reserve import PolicyConditions, deposit_credit, insurance_credit
from caspr.rules.regime import Assessment, Context, Finding, Severity, assessment, ratio_text
from caspr.snapshot.schema import Cover, DepositForm

DECREE = Citation(
    instrument="가상자산 이용자 보호 등에 관한 법률 시행령 (VAUPA Enforcement Decree)",
    article="6",
    url="https://fsc.go.kr/no010101/81214",
    note="numbers from press; primary text unread",
)
FORMS = frozenset(
    {
        DepositForm.CASH_TRUST,
        DepositForm.DEPOSIT,
        DepositForm.FIXED_DEPOSIT,
        DepositForm.GOVERNMENT_BONDS,
        DepositForm.ESCROW,
    }
)
CONDITIONS = PolicyConditions(risks=frozenset({Cover.HOT, Cover.CYBER}), third_party=True)


class KrVaupa:
    """Korean cold-wallet and hot-wallet cover rules."""

    id = "kr-vaupa"
    title = "Korea: VAUPA cold wallets (80%) and hot-wallet cover (5%, floors)"
    status = Status.IN_FORCE
    jurisdictions: tuple[str, ...] = ("KR",)
    currency: str | None = "KRW"
    parameters_dir = Path(__file__).parent / "parameters"

    def assess(self, ctx: Context, params: ParameterView) -> Assessment:
        """Cover requirement vs. reserve and insurance, and the cold-share check."""
        requirement = cover_requirement(ctx, params)
        reserve = deposit_credit(ctx.snapshot.deposits, FORMS, ctx.currency, DECREE)
        insurance = insurance_credit(ctx.snapshot.policies, ctx.as_of, CONDITIONS, ctx.currency, DECREE)
        funding = Component(
            "funding",
            reserve.amount + insurance.amount,
            ctx.currency,
            "reserve + insurance",
            citation=DECREE,
            children=(reserve, insurance),
        )
        findings = [cold_share(ctx, params)]
        if funding.amount < requirement.amount:
            findings.append(
                Finding(
                    "kr.vaupa.cover",
                    Severity.BREACH,
                    f"insurance and reserve {canonical(funding.amount)} < required "
                    f"{canonical(requirement.amount)} KRW",
                    DECREE,
                )
            )
        return assessment(self, ctx, params, requirement, funding, reserve.amount, insurance.amount, findings)


def cover_requirement(ctx: Context, params: ParameterView) -> Component:
    """max(5% × hot-wallet value, floor by market), rounded up to the won."""
    market = ctx.snapshot.exchange.market or "krw"
    floor = params("floor_krw_market" if market == "krw" else "floor_coin_market")
    share = params("hot_cover_share")
    hot = ctx.exposure.total("customer_hot")
    children = (
        Component(
            "hot-wallet cover",
            hot * share.value,
            ctx.currency,
            "hot value × share",
            inputs=(("hot_value", canonical(hot)), ("share", canonical(share.value))),
            citation=share.citation,
        ),
        Component(
            f"floor ({market} market)", floor.value, ctx.currency, "fixed minimum", citation=floor.citation
        ),
    )
    return Component(
        "requirement",
        round_requirement(max(children[0].amount, floor.value)),
        ctx.currency,
        "max(hot-wallet cover, floor), rounded up",
        citation=DECREE,
        children=children,
    )


def economic_values(ctx: Context) -> tuple[Decimal, Decimal, str]:
    """Cold and total value of users' virtual assets at one-year average prices.

    Decree Art. 6 values holdings at the average price of the past year; where the
    snapshot has no price history (prices.csv) for an asset, its snapshot price stands in,
    and the returned basis says so.
    """
    cold = total = Decimal(0)
    fallback = []
    for a in ctx.exposure.crypto():
        price = ctx.average_prices.get(a.asset)
        if price is None:
            price = a.price
            fallback.append(a.asset)
        held_cold = a.customer_cold + a.customer_custodian
        cold += held_cold * price
        total += (held_cold + a.customer_hot) * price
    basis = (
        "one-year average prices"
        if not fallback
        else ("one-year average prices; snapshot prices for " + ", ".join(fallback))
    )
    return cold, total, basis


def cold_share(ctx: Context, params: ParameterView) -> Finding:
    """≥ 80% of users' virtual assets cold by economic value; exactly 80% passes."""
    minimum = params("min_cold_share")
    cold, total, basis = economic_values(ctx)
    if total == 0:
        return Finding("kr.vaupa.cold", Severity.INFO, "no user virtual assets", minimum.citation)
    text = (
        f"cold wallets hold {ratio_text(cold / total * 100, 4)}% of users' virtual assets by economic value "
        f"(minimum {ratio_text(minimum.value * 100, 2)}%; {basis})"
    )
    severity = Severity.BREACH if cold < total * minimum.value else Severity.INFO
    return Finding("kr.vaupa.cold", severity, text, minimum.citation)


REGIME = KrVaupa()
