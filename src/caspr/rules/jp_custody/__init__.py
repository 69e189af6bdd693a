"""jp-custody: Japan's custody limits for crypto-asset exchange service providers (in force).

* Ordinance Art. 27(2): customer crypto held other than by the cold method ≤ 5% of the
  JPY value of all customers' crypto (aggregate JPY value, not per asset).
* PSA Art. 63-11-2: own crypto of the same type and at least the same quantity as the
  customer crypto held hot (履行保証暗号資産), per asset, by quantity.
* PSA Art. 63-11(1) with Ordinance Art. 26: customer money 100% in trust.
* PSA Art. 63-11(2): customer crypto segregated; what customer wallets hold must cover
  what customers are owed, per asset.

The regime sets limits only, so its requirement is zero and its answer is its findings.
"""

from __future__ import annotations

from pathlib import Path

from caspr.citation import Citation, Status
from caspr.component import Component
from caspr.money import AssetKind, canonical, total_of
from caspr.params import ParameterView
from caspr.rules.regime import (
    Assessment,
    Context,
    Finding,
    Severity,
    assessment,
    ratio_text,
    zero_requirement,
)

SEGREGATION = Citation(
    instrument="資金決済に関する法律 (Payment Services Act)",
    article="63-11(2)",
    url="https://iuris.jp/資金決済に関する法律-第六十三条の十一-利用者財産の管理/jpn/a/79319",
)


class JpCustody:
    """The Japanese custody limits."""

    id = "jp-custody"
    title = "Japan: custody limits (PSA 63-11, 63-11-2; Ordinance 27)"
    status = Status.IN_FORCE
    jurisdictions: tuple[str, ...] = ("JP",)
    currency: str | None = None
    fx_convertible = False
    parameters_dir = Path(__file__).parent / "parameters"

    def assess(self, ctx: Context, params: ParameterView) -> Assessment:
        """Findings of the cold-storage, guarantee, trust and segregation checks."""
        findings = [
            *cold_storage(ctx, params),
            *guarantee(ctx, params),
            *fiat_trust(ctx, params),
            *segregation(ctx),
        ]
        requirement = zero_requirement(
            ctx.currency, "limits only: no amount to set aside", params("max_non_cold_share").citation
        )
        funding = Component("funding", total_of([]), ctx.currency, "not applicable")
        return assessment(self, ctx, params, requirement, funding, total_of([]), total_of([]), findings)


def cold_storage(ctx: Context, params: ParameterView) -> list[Finding]:
    """Ordinance Art. 27(2): non-cold customer crypto ≤ 5% of all customer crypto, in JPY.

    Non-cold is what customer hot wallets hold; custodian-held crypto counts as cold
    management (assumption: a third-party custodian under Art. 27(1) applies the cold
    method). The comparison is exact: exactly 5% passes.
    """
    limit = params("max_non_cold_share")
    total = (
        ctx.exposure.total("customer_hot")
        + ctx.exposure.total("customer_cold")
        + ctx.exposure.total("customer_custodian")
    )
    hot = ctx.exposure.total("customer_hot")
    if total == 0:
        return [Finding("jp.ordinance.27(2)", Severity.INFO, "no customer crypto held", limit.citation)]
    share = hot / total
    text = (
        f"non-cold customer crypto {ratio_text(hot, 0)} {ctx.currency} = {ratio_text(share * 100, 4)}% "
        f"of {ratio_text(total, 0)} {ctx.currency} (limit {ratio_text(limit.value * 100, 2)}%)"
    )
    if hot > total * limit.value:
        return [Finding("jp.ordinance.27(2)", Severity.BREACH, text, limit.citation)]
    return [Finding("jp.ordinance.27(2)", Severity.INFO, text, limit.citation)]


def guarantee(ctx: Context, params: ParameterView) -> list[Finding]:
    """PSA Art. 63-11-2: per asset, guarantee crypto ≥ ratio × customer crypto held hot."""
    ratio = params("guarantee_ratio")
    findings = []
    for a in ctx.exposure.crypto():
        needed = a.customer_hot * ratio.value
        if a.guarantee < needed:
            findings.append(
                Finding(
                    "jp.psa.63-11-2",
                    Severity.BREACH,
                    f"{a.asset}: performance-guarantee crypto {canonical(a.guarantee)} "
                    f"< {canonical(needed)} held hot for customers "
                    f"(short {canonical(needed - a.guarantee)} {a.asset})",
                    ratio.citation,
                )
            )
    if not findings:
        findings.append(
            Finding(
                "jp.psa.63-11-2",
                Severity.INFO,
                "performance-guarantee crypto covers customer hot holdings for every asset",
                ratio.citation,
            )
        )
    return findings


def fiat_trust(ctx: Context, params: ParameterView) -> list[Finding]:
    """PSA Art. 63-11(1): customer money in trust ≥ ratio × customer money owed."""
    ratio = params("fiat_trust_ratio")
    findings = []
    for a in ctx.exposure.assets:
        if a.kind is not AssetKind.FIAT:
            continue
        needed = a.liabilities * ratio.value
        if a.customer_fiat < needed:
            findings.append(
                Finding(
                    "jp.psa.63-11(1)",
                    Severity.BREACH,
                    f"{a.asset}: customer money in trust {canonical(a.customer_fiat)} "
                    f"< owed {canonical(needed)}",
                    ratio.citation,
                )
            )
        else:
            findings.append(
                Finding(
                    "jp.psa.63-11(1)",
                    Severity.INFO,
                    f"{a.asset}: customer money in trust {canonical(a.customer_fiat)} "
                    f"covers {canonical(needed)}",
                    ratio.citation,
                )
            )
    return findings


def segregation(ctx: Context) -> list[Finding]:
    """PSA Art. 63-11(2): per asset, customer wallets hold at least what customers are owed."""
    findings = []
    for a in ctx.exposure.crypto():
        if a.customer_held < a.liabilities:
            findings.append(
                Finding(
                    "jp.psa.63-11(2)",
                    Severity.BREACH,
                    f"{a.asset}: customer wallets hold {canonical(a.customer_held)} "
                    f"< owed {canonical(a.liabilities)} "
                    f"(short {canonical(a.liabilities - a.customer_held)} {a.asset})",
                    SEGREGATION,
                )
            )
    return findings


REGIME = JpCustody()
