"""kr-vaupa: Korea's Virtual Asset User Protection Act and Enforcement Decree (since 2024-07-19).

* Decree (draft Art. 6 as the FSC summarised it, 2023-12-11): ≥ 80% of users' virtual
  assets in cold wallets by **economic value** (경제적 가치) = Σ per asset of quantity ×
  average KRW price over the latest year; insurance or reserve ≥ 5% of the value of the
  virtual assets held in hot wallets, at least KRW 3bn for KRW-market exchanges and
  KRW 0.5bn for coin-market exchanges and wallet/custody businesses.
* One valuation for both tests: economic value at one-year average prices (prices.csv,
  averaged over the calendar year before ``as_of``). History that does not cover every
  day of that year is a finding: the cold test is then not established (shown at
  snapshot prices, labelled so), and the cover is sized at the higher of the snapshot
  price and the partial average (the conservative valuation).
* Holdings at a custodian count as cold only when ``custodian_counts_as_cold`` is 1;
  by default they count as not cold (in the 80% test and in the cover base).
* ``market`` is an enumerated field (``krw``, ``coin``, ``custody``); when absent, the
  higher KRW-market floor applies, and a finding says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from caspr.citation import Citation, Status
from caspr.component import Component
from caspr.errors import NoRuleInForce
from caspr.money import canonical, round_requirement_in
from caspr.params import ParameterView, ParamValue
from caspr.reserve import PolicyConditions, deposit_credit, insurance_credit
from caspr.rules.regime import Assessment, Context, Finding, Severity, assessment, ratio_text
from caspr.snapshot.schema import Cover, DepositForm, Market

DECREE = Citation(
    instrument="가상자산 이용자 보호 등에 관한 법률 시행령 (VAUPA Enforcement Decree)",
    article="시행령안 제6조 (draft numbering; final article number not verified)",
    url="https://fsc.go.kr/no010101/81214",
    note="numbers from the FSC's summary and the press; the Decree's text was not read",
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
    fx_convertible = False
    parameters_dir = Path(__file__).parent / "parameters"

    def assess(self, ctx: Context, params: ParameterView) -> Assessment:
        """Cover requirement vs. reserve and insurance, and the cold-share check."""
        valuation = economic_valuation(ctx, params)
        requirement = cover_requirement(ctx, params, valuation)
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
        findings = valuation.findings + market_findings(ctx) + [cold_share(ctx, params, valuation)]
        findings.extend(cover_shortfall(ctx, requirement, funding, valuation))
        return assessment(self, ctx, params, requirement, funding, reserve.amount, insurance.amount, findings)


@dataclass(frozen=True, slots=True)
class Valuation:
    """Users' virtual assets valued for both Decree tests, and whether that is the Decree's valuation."""

    cold: Decimal
    """Economic value held cold (custodian holdings included only when configured)."""
    total: Decimal
    """Economic value of all users' virtual assets."""
    hot: Decimal
    """Value of those not held cold (the cover base), at the conservative price where history is short."""
    complete: bool
    """Whether every asset held had a price on every day of the year (the Decree's valuation)."""
    basis: str
    findings: list[Finding]
    custodian_cold: bool


def economic_valuation(ctx: Context, params: ParameterView) -> Valuation:
    """Σ quantity × one-year average KRW price per asset, for the cold test and the cover alike.

    An asset whose history misses days of the year before ``as_of`` has no Decree value:
    the cold test uses its snapshot price (and is not established), the cover base the
    higher of the snapshot price and the partial average.
    """
    window = params("average_price_window_months")
    if window.value != 12 or ctx.price_window is None:
        msg = "kr-vaupa: prices are averaged over the 12 months before as_of only"
        raise NoRuleInForce(msg)
    start, end = ctx.price_window
    days = (end - start).days + 1
    custodian_cold = params.value("custodian_counts_as_cold") == 1
    cold = total = hot = Decimal(0)
    short: list[str] = []
    for a in ctx.exposure.crypto():
        held_cold = a.customer_cold + (a.customer_custodian if custodian_cold else 0)
        held_hot = a.customer_hot + (0 if custodian_cold else a.customer_custodian)
        if held_cold + held_hot == 0:
            continue
        priced = ctx.price_days.get(a.asset, 0)
        average = ctx.average_prices.get(a.asset)
        if priced >= days and average is not None:
            cold_price = hot_price = average
        else:
            short.append(f"{a.asset} {priced} of {days} days")
            cold_price = a.price
            hot_price = max(a.price, average) if average is not None else a.price
        cold += held_cold * cold_price
        total += (held_cold + held_hot) * cold_price
        hot += held_hot * hot_price
    findings = []
    if short:
        basis = "snapshot prices where the year's history is incomplete (not the Decree's one-year average)"
        findings.append(
            Finding(
                "kr.vaupa.valuation",
                Severity.WARNING,
                f"price history from {start} to {end} is incomplete ({'; '.join(short)}): the Decree values "
                "users' virtual assets at one-year average KRW prices, so the 80% cold test is not "
                "established; the cover is sized at the higher of the snapshot price and the partial average",
                window.citation,
            )
        )
    else:
        basis = f"one-year average KRW prices, {start} to {end}"
    return Valuation(cold, total, hot, not short, basis, findings, custodian_cold)


def floor_for(ctx: Context, params: ParameterView) -> tuple[Market, ParamValue]:
    """The Decree floor for the exchange's market; when ``market`` is absent, the KRW-market (higher) one."""
    market = ctx.snapshot.exchange.market or Market.KRW
    name = "floor_krw_market" if market is Market.KRW else "floor_coin_market"
    return market, params(name)


def market_findings(ctx: Context) -> list[Finding]:
    """A finding when ``market`` is not stated (the higher floor is applied)."""
    if ctx.snapshot.exchange.market is not None:
        return []
    return [
        Finding(
            "kr.vaupa.market",
            Severity.INFO,
            "exchange.yaml gives no market: the KRW-market floor (KRW 3bn, the higher) is applied",
            DECREE,
        )
    ]


def cover_requirement(ctx: Context, params: ParameterView, valuation: Valuation) -> Component:
    """max(5% × value held not cold, floor by market), rounded up to the won."""
    market, floor = floor_for(ctx, params)
    share = params("hot_cover_share")
    base = "hot wallets" if valuation.custodian_cold else "hot wallets and custodians (not cold)"
    children = (
        Component(
            "hot-wallet cover",
            valuation.hot * share.value,
            ctx.currency,
            f"value in {base} × share ({valuation.basis})",
            inputs=(("hot_value", canonical(valuation.hot)), ("share", canonical(share.value))),
            citation=share.citation,
        ),
        Component(
            f"floor ({market.value} market)",
            floor.value,
            ctx.currency,
            "fixed minimum",
            citation=floor.citation,
        ),
    )
    return Component(
        "requirement",
        round_requirement_in(max(children[0].amount, floor.value), ctx.currency),
        ctx.currency,
        "max(hot-wallet cover, floor), rounded up to the minor unit",
        citation=DECREE,
        children=children,
    )


def cover_shortfall(
    ctx: Context, requirement: Component, funding: Component, valuation: Valuation
) -> list[Finding]:
    """Funding short: breach when certain (below the floor, or at the Decree's valuation)."""
    if funding.amount >= requirement.amount:
        return []
    floor = requirement.children[1].amount
    certain = valuation.complete or funding.amount < floor
    text = (
        f"insurance and reserve {canonical(funding.amount)} < required {canonical(requirement.amount)} "
        f"{ctx.currency}"
    )
    if not certain:
        text += " at the conservative valuation (price history incomplete; not established under the Decree)"
    return [Finding("kr.vaupa.cover", Severity.BREACH if certain else Severity.WARNING, text, DECREE)]


def cold_share(ctx: Context, params: ParameterView, valuation: Valuation) -> Finding:
    """≥ 80% of users' virtual assets cold by economic value; exactly 80% passes."""
    minimum = params("min_cold_share")
    cold, total = valuation.cold, valuation.total
    if total == 0:
        return Finding("kr.vaupa.cold", Severity.INFO, "no user virtual assets", minimum.citation)
    custodian = (
        "custodian holdings counted as cold"
        if valuation.custodian_cold
        else ("custodian holdings counted as not cold (custodian_counts_as_cold = 0)")
    )
    text = (
        f"cold wallets hold {ratio_text(cold / total * 100, 4)}% of users' virtual assets by value "
        f"(minimum {ratio_text(minimum.value * 100, 2)}%; {valuation.basis}; {custodian})"
    )
    if not valuation.complete:
        severity = Severity.WARNING
        text += "; not established: the Decree's valuation needs a full year of prices"
    elif cold >= total * minimum.value:
        severity = Severity.INFO
    else:
        severity = Severity.BREACH
    return Finding("kr.vaupa.cold", severity, text, minimum.citation)


REGIME = KrVaupa()
