"""Custody and segregation: per-asset reconciliation and each regime's hot/cold method.

``caspr custody`` and ``caspr assess`` share the finding functions of the regime
packages, so both commands say the same thing about the same snapshot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from caspr.assess import build_context, regime_parameters
from caspr.citation import Citation
from caspr.engine import AssetExposure, Engine
from caspr.errors import NoRuleInForce
from caspr.money import canonical, total_of
from caspr.params import ParameterView
from caspr.rules import bh_cbb, hk_sfc, jp_custody, kr_vaupa
from caspr.rules.regime import Context, Finding, Severity
from caspr.snapshot.loader import Snapshot

SEGREGATION = jp_custody.segregation_citation()


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """One asset: what customers are owed against what customer wallets hold."""

    asset: str
    liabilities: Decimal
    customer_held: Decimal
    company_held: Decimal
    guarantee: Decimal
    price: Decimal

    @property
    def difference(self) -> Decimal:
        """Held minus owed: negative is a shortfall, positive an excess."""
        return self.customer_held - self.liabilities

    @property
    def difference_value(self) -> Decimal:
        """The difference in the reporting currency at the snapshot price."""
        return self.difference * self.price

    def to_dict(self) -> dict[str, str]:
        """JSON-ready, exact decimal strings."""
        return {
            "asset": self.asset,
            "liabilities": canonical(self.liabilities),
            "customer_held": canonical(self.customer_held),
            "difference": canonical(self.difference),
            "difference_value": canonical(self.difference_value),
            "company_held": canonical(self.company_held),
            "guarantee": canonical(self.guarantee),
        }


@dataclass(frozen=True, slots=True)
class Method:
    """A regime's way of computing the hot/cold split, and its result."""

    regime: str
    method: str
    cold_share: Decimal | None
    limit: str
    passed: bool
    citation: Citation | None
    jurisdiction: str = ""
    """Where the regime applies: its pass/fail binds only an exchange of that jurisdiction."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "regime": self.regime,
            "jurisdiction": self.jurisdiction,
            "method": self.method,
            "cold_share": canonical(self.cold_share) if self.cold_share is not None else None,
            "limit": self.limit,
            "passed": self.passed,
            "citation": str(self.citation or ""),
        }


@dataclass(frozen=True, slots=True)
class CustodyReport:
    """Reconciliation, hot/cold by method, and findings."""

    exchange: str
    as_of: dt.date
    currency: str
    assets: tuple[Reconciliation, ...]
    methods: tuple[Method, ...]
    findings: tuple[Finding, ...]
    jurisdiction: str = ""

    def applies(self, method: Method) -> bool:
        """Whether ``method``'s regime binds this exchange (the others are comparisons)."""
        return method.jurisdiction == self.jurisdiction

    @property
    def breached(self) -> bool:
        """Whether any finding is a breach."""
        return any(f.severity is Severity.BREACH for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``caspr custody --format json``."""
        return {
            "exchange": self.exchange,
            "as_of": self.as_of.isoformat(),
            "currency": self.currency,
            "assets": [a.to_dict() for a in self.assets],
            "methods": [m.to_dict() for m in self.methods],
            "findings": [f.to_dict() for f in self.findings],
        }


def reconcile(a: AssetExposure) -> Reconciliation:
    """An asset's liabilities against its customer wallets."""
    return Reconciliation(a.asset, a.liabilities, a.customer_held, a.company, a.guarantee, a.price)


def segregation_findings(rows: tuple[Reconciliation, ...]) -> list[Finding]:
    """Shortfalls (breach) and excesses (warning: company assets mixed in) per asset."""
    findings = []
    for r in rows:
        if r.difference < 0:
            hint = (
                (
                    f"; company wallets hold {canonical(r.company_held)} {r.asset}, "
                    "so customer assets may sit in company wallets"
                )
                if r.company_held > 0
                else ""
            )
            findings.append(
                Finding(
                    "custody.segregation",
                    Severity.BREACH,
                    f"{r.asset}: customer wallets short {canonical(-r.difference)} "
                    f"(owed {canonical(r.liabilities)}){hint}",
                    SEGREGATION,
                )
            )
        elif r.difference > 0:
            findings.append(
                Finding(
                    "custody.segregation",
                    Severity.WARNING,
                    f"{r.asset}: customer wallets hold {canonical(r.difference)} more than owed: "
                    "company assets mixed into customer wallets",
                    SEGREGATION,
                )
            )
    return findings


def _view(regime: str, folder: Any, date: dt.date) -> ParameterView | None:
    try:
        view = ParameterView(regime, regime_parameters(folder), date)
        view.all()
    except NoRuleInForce:
        return None
    return view


def _shares(ctx: Context) -> tuple[Decimal, Decimal, Decimal]:
    hot = ctx.exposure.total("customer_hot")
    cold = ctx.exposure.total("customer_cold")
    custodian = ctx.exposure.total("customer_custodian")
    return hot, cold, custodian


def methods(ctx: Context) -> tuple[list[Method], dict[str, list[Finding]]]:
    """The hot/cold split as Japan, Hong Kong, Korea and Bahrain compute it, with their findings."""
    hot, cold, custodian = _shares(ctx)
    total = hot + cold + custodian
    out: list[Method] = []
    findings: dict[str, list[Finding]] = {}
    jp = _view("jp-custody", jp_custody.REGIME.parameters_dir, ctx.as_of)
    jp_readings = [r for r in jp_custody.non_cold_readings(ctx) if r[2] > 0]
    if jp is not None and jp_readings:
        limit = jp("max_non_cold_share")
        _, jp_hot, jp_total = max(jp_readings, key=lambda r: r[1] / r[2])  # the rule's stricter reading
        out.append(
            Method(
                "jp-custody",
                "aggregate reporting-currency value of 暗号資産 (epi excluded); custodian counts as cold",
                (jp_total - jp_hot) / jp_total,
                f"non-cold ≤ {canonical(limit.value)}",
                jp_hot <= jp_total * limit.value,
                limit.citation,
                "JP",
            )
        )
        findings["JP"] = [
            *jp_custody.cold_storage(ctx, jp),
            *jp_custody.guarantee(ctx, jp),
            *jp_custody.fiat_trust(ctx, jp),
        ]
    hk = _view("hk-sfc", hk_sfc.REGIME.parameters_dir, ctx.as_of)
    if hk is not None and total:
        finding = hk_sfc.cold_share(ctx, hk)
        out.append(
            Method(
                "hk-sfc",
                "share of client virtual assets by value; custodian counts as other storage",
                cold / total,
                f"cold ≥ {canonical(hk.value('min_cold_share'))}",
                finding.severity is not Severity.BREACH,
                finding.citation,
                "HK",
            )
        )
        findings["HK"] = [finding]
    kr = _view("kr-vaupa", kr_vaupa.REGIME.parameters_dir, ctx.as_of)
    if kr is not None:
        valuation = kr_vaupa.economic_valuation(ctx, kr)
        finding = kr_vaupa.cold_share(ctx, kr, valuation)
        out.append(
            Method(
                "kr-vaupa",
                f"economic value ({valuation.basis})",
                valuation.cold / valuation.total if valuation.total else None,
                f"cold ≥ {canonical(kr.value('min_cold_share'))}",
                finding.severity is Severity.INFO,  # a warning (not established) is not a pass
                finding.citation,
                "KR",
            )
        )
        findings["KR"] = [*valuation.findings, finding]
    bh = _view("bh-cbb", bh_cbb.PARAMETERS_DIR, ctx.as_of)
    if bh is not None:
        per_asset = bh_cbb.per_asset_cold(ctx, bh)
        worst = min(
            (
                (a.customer_cold + a.customer_custodian) / held
                for a in ctx.exposure.crypto()
                if (held := a.customer_hot + a.customer_cold + a.customer_custodian)
            ),
            default=None,
        )
        out.append(
            Method(
                "bh-cbb",
                "per asset (the lowest asset shown)",
                worst,
                f"cold ≥ {canonical(bh.value('min_cold_share_per_asset'))} for every asset",
                not per_asset,
                bh("min_cold_share_per_asset").citation,
                "BH",
            )
        )
        findings["BH"] = per_asset
    return out, findings


def custody_report(snapshot: Snapshot, engine: Engine | None = None) -> CustodyReport:
    """Reconcile every asset and compute each regime's hot/cold method.

    Findings: segregation for every asset, plus the custody findings of the exchange's own
    jurisdiction (the same functions ``caspr assess`` uses). Other jurisdictions' methods
    are shown as pass/fail rows, not findings.
    """
    ctx = build_context(snapshot, snapshot.exchange.as_of_date, engine)
    rows = tuple(reconcile(a) for a in ctx.exposure.assets)
    found, by_jurisdiction = methods(ctx)
    findings = [*segregation_findings(rows), *by_jurisdiction.get(snapshot.exchange.jurisdiction.value, [])]
    return CustodyReport(
        snapshot.exchange.id,
        ctx.as_of,
        ctx.currency,
        rows,
        tuple(found),
        tuple(findings),
        snapshot.exchange.jurisdiction.value,
    )


def total_shortfall_value(report: CustodyReport) -> Decimal:
    """Σ shortfall value over assets (excesses are never netted against shortfalls)."""
    return total_of([-r.difference_value for r in report.assets if r.difference < 0])
