"""jp-custody: Japan's custody limits for crypto-asset exchange service providers (in force).

* Ordinance Art. 27(2): customer 暗号資産 held other than by the cold method ≤ 5% of the
  JPY value of all customers' 暗号資産 (aggregate JPY value, not per asset). Electronic
  payment instruments (``kind: epi``, 電子決済手段) are not 暗号資産 (PSA Art. 2(14)
  excludes them) and leave the base; a ``stablecoin`` whose class the snapshot does not
  state is tested both ways and the stricter reading applies, with a warning.
* PSA Art. 63-11-2: own crypto of the same type and at least the same quantity as the
  customer crypto held hot (履行保証暗号資産), per asset, by quantity, managed by the
  safe method: guarantee crypto in hot wallets does not count.
* PSA Art. 63-11(1) with Ordinance Art. 26: customer money 100% in trust (信託); money
  in a plain bank account is customer money but not in trust.
* PSA Art. 63-11(2): customer crypto segregated; what customer wallets hold must cover
  what customers are owed, per asset.

Every finding cites the parameter it applies (the YAML in ``parameters/``).
The regime sets limits only, so its requirement is zero and its answer is its findings.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from caspr.citation import Citation, Status
from caspr.component import Component
from caspr.engine import AssetExposure
from caspr.money import AssetKind, canonical, total_of
from caspr.params import ParameterView, load_parameters
from caspr.rules.regime import (
    Assessment,
    Context,
    Finding,
    Severity,
    assessment,
    ratio_text,
    share_text,
    zero_requirement,
)

CRYPTO_ASSET_KINDS = frozenset({AssetKind.CRYPTO, AssetKind.STABLECOIN})
"""Kinds held to the 暗号資産 rules (``stablecoin`` conservatively: its class is unstated)."""


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
            *segregation(ctx, params),
        ]
        requirement = zero_requirement(
            ctx.currency, "limits only: no amount to set aside", params("max_non_cold_share").citation
        )
        funding = Component("funding", total_of([]), ctx.currency, "not applicable")
        return assessment(self, ctx, params, requirement, funding, total_of([]), total_of([]), findings)


def _held(rows: list[AssetExposure]) -> tuple[Decimal, Decimal]:
    """(hot, hot + cold + custodian) customer holdings of ``rows``, valued at price."""
    hot = total_of([a.customer_hot * a.price for a in rows])
    total = total_of([(a.customer_hot + a.customer_cold + a.customer_custodian) * a.price for a in rows])
    return hot, total


def non_cold_readings(ctx: Context) -> list[tuple[str, Decimal, Decimal]]:
    """The Art. 27(2) base under each reading of unclassified stablecoins: (reading, hot, total).

    ``crypto`` assets are always 暗号資産; ``epi`` never is (PSA Art. 2(14)). A ``stablecoin``
    may be either, so both readings are returned when the snapshot holds one.
    """
    crypto = [a for a in ctx.exposure.assets if a.kind is AssetKind.CRYPTO]
    unclassified = [a for a in ctx.exposure.assets if a.kind is AssetKind.STABLECOIN]
    readings = [("crypto-assets only", *_held(crypto))]
    if unclassified:
        readings.append(("stablecoins counted as 暗号資産", *_held(crypto + unclassified)))
    return readings


def cold_storage(ctx: Context, params: ParameterView) -> list[Finding]:
    """Ordinance Art. 27(2): non-cold customer 暗号資産 ≤ 5% of all customer 暗号資産, in JPY.

    Non-cold is what customer hot wallets hold; custodian-held crypto counts as cold
    management (assumption: a third-party custodian under Art. 27(1) applies the cold
    method). The comparison is exact: exactly 5% passes. Electronic payment instruments
    are outside the base; unclassified stablecoins are tested both ways, the stricter wins.
    """
    limit = params("max_non_cold_share")
    rule = "jp.ordinance.27(2)"
    findings: list[Finding] = []
    readings = [r for r in non_cold_readings(ctx) if r[2] > 0]
    if not readings:
        return [Finding.applying(rule, Severity.INFO, "no customer 暗号資産 held", limit)]
    worst = max(readings, key=lambda r: r[1] / r[2])
    reading, hot, total = worst
    share = hot / total
    text = (
        f"non-cold customer 暗号資産 {ratio_text(hot, 0)} {ctx.currency} = {share_text(share, limit.value)} "
        f"of {ratio_text(total, 0)} {ctx.currency} (limit {ratio_text(limit.value * 100, 2)}%)"
    )
    epi = sorted(a.asset for a in ctx.exposure.assets if a.kind is AssetKind.EPI)
    if epi:
        text += f"; electronic payment instruments outside the base: {', '.join(epi)}"
    unclassified = sorted(a.asset for a in ctx.exposure.assets if a.kind is AssetKind.STABLECOIN)
    if unclassified:
        text += f"; reading applied: {reading} (the stricter)"
        findings.append(
            Finding.applying(
                rule,
                Severity.WARNING,
                f"{', '.join(unclassified)}: kind stablecoin does not say whether the token is a "
                "暗号資産 or an electronic payment instrument (電子決済手段, PSA Art. 2(5)); "
                "the stricter reading of the 5% test is applied. Declare kind crypto or epi.",
                limit,
            )
        )
    severity = Severity.BREACH if hot > total * limit.value else Severity.INFO
    return [Finding.applying(rule, severity, text, limit), *findings]


def guarantee(ctx: Context, params: ParameterView) -> list[Finding]:
    """PSA Art. 63-11-2: per asset, safely managed guarantee crypto ≥ ratio × customer crypto held hot.

    Guarantee crypto in hot wallets is not managed by the safe method and does not count.
    Electronic payment instruments are not 暗号資産 and need no guarantee.
    """
    ratio = params("guarantee_ratio")
    rule = "jp.psa.63-11-2"
    findings = []
    for a in ctx.exposure.assets:
        if a.kind not in CRYPTO_ASSET_KINDS:
            continue
        needed = a.customer_hot * ratio.value
        counted = a.guarantee - a.guarantee_hot
        if counted < needed:
            hot_note = (
                f"; {canonical(a.guarantee_hot)} {a.asset} of guarantee crypto sits in hot wallets "
                "and does not count (not the safe management method)"
                if a.guarantee_hot
                else ""
            )
            findings.append(
                Finding.applying(
                    rule,
                    Severity.BREACH,
                    f"{a.asset}: performance-guarantee crypto managed safely {canonical(counted)} "
                    f"< {canonical(needed)} held hot for customers "
                    f"(short {canonical(needed - counted)} {a.asset}){hot_note}",
                    ratio,
                )
            )
    if not findings:
        findings.append(
            Finding.applying(
                rule,
                Severity.INFO,
                "safely managed performance-guarantee crypto covers customer hot holdings for every asset",
                ratio,
            )
        )
    return findings


def fiat_trust(ctx: Context, params: ParameterView) -> list[Finding]:
    """PSA Art. 63-11(1), Ordinance Art. 26: customer money in trust ≥ ratio × customer money owed.

    Only storage ``fiat_trust`` is a trust; customer money in a plain ``bank`` account is
    shown but not counted.
    """
    ratio = params("fiat_trust_ratio")
    rule = "jp.psa.63-11(1)"
    findings = []
    for a in ctx.exposure.assets:
        if a.kind is not AssetKind.FIAT:
            continue
        needed = a.liabilities * ratio.value
        in_bank = a.customer_fiat - a.customer_fiat_trust
        bank_note = (
            f"; {canonical(in_bank)} in plain bank accounts is not a trust (信託) and does not count"
            if in_bank
            else ""
        )
        if a.customer_fiat_trust < needed:
            findings.append(
                Finding.applying(
                    rule,
                    Severity.BREACH,
                    f"{a.asset}: customer money in trust {canonical(a.customer_fiat_trust)} "
                    f"< owed {canonical(needed)}{bank_note}",
                    ratio,
                )
            )
        else:
            findings.append(
                Finding.applying(
                    rule,
                    Severity.INFO,
                    f"{a.asset}: customer money in trust {canonical(a.customer_fiat_trust)} "
                    f"covers {canonical(needed)}{bank_note}",
                    ratio,
                )
            )
    return findings


def segregation(ctx: Context, params: ParameterView) -> list[Finding]:
    """PSA Art. 63-11(2): per asset, customer wallets hold at least what customers are owed."""
    ratio = params("segregation_ratio")
    findings = []
    for a in ctx.exposure.crypto():
        needed = a.liabilities * ratio.value
        if a.customer_held < needed:
            findings.append(
                Finding.applying(
                    "jp.psa.63-11(2)",
                    Severity.BREACH,
                    f"{a.asset}: customer wallets hold {canonical(a.customer_held)} "
                    f"< owed {canonical(needed)} "
                    f"(short {canonical(needed - a.customer_held)} {a.asset})",
                    ratio,
                )
            )
    return findings


def segregation_citation() -> Citation:
    """PSA 63-11(2) as its parameter file cites it (for ``caspr custody``'s reconciliation)."""
    param = load_parameters(JpCustody.parameters_dir)["segregation_ratio"]
    return param.at(param.coverage_start()).citation


REGIME = JpCustody()
