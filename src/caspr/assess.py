"""Assess a snapshot under one or more regimes (the library behind ``caspr assess``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from caspr.engine import Engine
from caspr.errors import NoRuleInForce
from caspr.params import Parameter, ParameterView, load_parameters
from caspr.periods import add_months
from caspr.rules import REGIMES, applicable
from caspr.rules.regime import Assessment, Context, Regime
from caspr.snapshot.loader import Snapshot


@cache
def regime_parameters(folder: Path) -> dict[str, Parameter]:
    """A regime's parameter files, loaded once per process."""
    return load_parameters(folder)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A regime that was asked for (or applies) but could not be assessed, and why."""

    regime: str
    reason: str


@dataclass(frozen=True, slots=True)
class Report:
    """Every assessment of one snapshot at one date."""

    exchange: str
    as_of: dt.date
    """The assessment date: the parameters in force on it are applied."""
    currency: str
    assessments: tuple[Assessment, ...]
    skipped: tuple[Skipped, ...]
    snapshot_as_of: dt.date | None = None
    """The snapshot's own date: its balances, wallets and prices are those of this day."""
    warnings: tuple[str, ...] = ()

    @property
    def breached(self) -> bool:
        """Whether any assessment found a breach of the law in force (projections are not)."""
        return any(a.breaches for a in self.assessments)

    @property
    def projected(self) -> bool:
        """Whether a proposed rule projects a shortfall."""
        return any(a.projections for a in self.assessments)

    def fails(self, include_proposed: bool = False) -> bool:
        """What ``--fail-on-breach`` exits 1 on: breaches, and projections only if asked."""
        return self.breached or (include_proposed and self.projected)

    @property
    def unverified_parameters(self) -> tuple[str, ...]:
        """``regime.parameter`` of every value used that needs a primary-source check."""
        return tuple(f"{a.regime}.{p.name}" for a in self.assessments for p in a.unverified_parameters)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``caspr assess --format json``."""
        return {
            "exchange": self.exchange,
            "as_of": self.as_of.isoformat(),
            "snapshot_as_of": (self.snapshot_as_of or self.as_of).isoformat(),
            "currency": self.currency,
            "warnings": list(self.warnings),
            "parameters_needing_primary_check": list(self.unverified_parameters),
            "assessments": [a.to_dict() for a in self.assessments],
            "skipped": [{"regime": s.regime, "reason": s.reason} for s in self.skipped],
        }


def date_warnings(snapshot_date: dt.date, as_of: dt.date) -> tuple[str, ...]:
    """A warning when the assessment date is not the snapshot's: balances are not re-dated."""
    if snapshot_date == as_of:
        return ()
    return (
        f"assessed as of {as_of} with the rules in force that day, but the snapshot is dated "
        f"{snapshot_date}: its balances, wallets and prices are those of {snapshot_date}, not of {as_of}",
    )


def select_regimes(snapshot: Snapshot, selection: str | None) -> tuple[list[Regime], bool]:
    """The regimes to run and whether they were named explicitly.

    ``None``: those of the exchange's jurisdiction; ``all``: every regime; else one id.

    Raises:
        KeyError: an unknown regime id.
    """
    if selection is None:
        return applicable(snapshot.exchange.jurisdiction.value), False
    if selection == "all":
        return list(REGIMES.values()), False
    return [REGIMES[selection]], True


def build_context(snapshot: Snapshot, as_of: dt.date, engine: Engine | None = None) -> Context:
    """Exposure and trailing-12-month volumes up to the day before ``as_of``.

    Prices are averaged over the calendar year before ``as_of`` (``as_of`` − 1 year to the
    day before ``as_of``: 365 or 366 days), with the days each asset was priced.
    """
    engine = engine or Engine(snapshot)
    end = as_of - dt.timedelta(days=1)
    start = end - dt.timedelta(days=364)
    price_start = add_months(as_of, -12)
    history = engine.price_history(price_start, end)
    return Context(
        snapshot,
        engine.exposure(),
        engine.volumes(start, end),
        as_of,
        {asset: mean for asset, (mean, _) in history.items()},
        {asset: days for asset, (_, days) in history.items()},
        (price_start, end),
    )


def currency_skip(regime: Regime, ctx: Context) -> str | None:
    """Why ``regime`` cannot be assessed in the snapshot's currency (None: it can).

    A regime whose fixed amounts are in another currency runs only if it converts them
    and the snapshot supplies the rate.

    Raises:
        InputError: the regime applies to the exchange's jurisdiction, converts, and the
            snapshot lacks the rate (bad input, not a reason to skip).
    """
    if regime.currency is None or regime.currency == ctx.currency:
        return None
    if regime.fx_convertible:
        if snapshot_has_rate(ctx, regime.currency):
            return None
        if ctx.snapshot.exchange.jurisdiction.value in regime.jurisdictions:
            ctx.fx_rate(regime.currency)  # raises the InputError that names the missing rate
        return (
            f"its fixed amounts are in {regime.currency} and the snapshot reports in {ctx.currency} "
            f"with no {regime.currency}→{ctx.currency} rate; caspr never invents one"
        )
    return (
        f"its fixed amounts are in {regime.currency} and the snapshot reports in {ctx.currency}; "
        "this regime is assessed only in its own currency"
    )


def snapshot_has_rate(ctx: Context, base: str) -> bool:
    """Whether the snapshot supplies a ``base`` → reporting-currency rate."""
    return any(r.base.value == base and r.quote.value == ctx.currency for r in ctx.snapshot.exchange.fx_rates)


def assess(
    snapshot: Snapshot,
    selection: str | None = None,
    as_of: dt.date | None = None,
    overrides: dict[str, dict[str, Decimal]] | None = None,
    overrides_source: str = "--params",
    engine: Engine | None = None,
) -> Report:
    """Assess ``snapshot`` under the selected regimes at ``as_of`` (default: the snapshot's).

    Raises:
        NoRuleInForce: a regime named explicitly has no rule in force at ``as_of``.
        KeyError: an unknown regime id.
    """
    date = as_of or snapshot.exchange.as_of_date
    regimes, explicit = select_regimes(snapshot, selection)
    ctx = build_context(snapshot, date, engine)
    done: list[Assessment] = []
    skipped: list[Skipped] = []
    for regime in regimes:
        reason = currency_skip(regime, ctx)
        if reason is not None:
            if explicit:
                raise NoRuleInForce(f"{regime.id}: {reason}")
            skipped.append(Skipped(regime.id, reason))
            continue
        params = ParameterView(
            regime.id,
            regime_parameters(regime.parameters_dir),
            date,
            (overrides or {}).get(regime.id),
            overrides_source,
        )
        try:
            done.append(regime.assess(ctx, params))
        except NoRuleInForce as exc:
            if explicit:
                raise
            skipped.append(Skipped(regime.id, str(exc)))
    return Report(
        snapshot.exchange.id,
        date,
        ctx.currency,
        tuple(done),
        tuple(skipped),
        snapshot.exchange.as_of_date,
        date_warnings(snapshot.exchange.as_of_date, date),
    )


@dataclass(frozen=True, slots=True)
class EligibleFunding:
    """What counts as funding for an exchange, and how much: one answer for every command.

    Computed by the regime (its :class:`Assessment`'s funding component), never again by a
    caller: ``assess``, ``stress``, ``incident`` and ``backtest`` all state this object.
    """

    regime: str
    status: str
    currency: str
    amount: Decimal
    reserve: Decimal
    insurance: Decimal

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "regime": self.regime,
            "status": self.status,
            "currency": self.currency,
            "amount": f"{self.amount:f}",
            "reserve": f"{self.reserve:f}",
            "insurance": f"{self.insurance:f}",
        }


def eligible_funding(
    snapshot: Snapshot,
    engine: Engine | None = None,
    regime: str | None = None,
    overrides: dict[str, Decimal] | None = None,
) -> EligibleFunding | None:
    """The funding the exchange's regime counts (None when no applicable regime counts funding).

    Without ``regime``: the first regime of the exchange's jurisdiction whose funding has
    parts (Japan: jp-crypto-reserve; EU: eu-mica; Hong Kong: hk-sfc; Korea: kr-vaupa).
    """
    reform = {regime: overrides} if regime and overrides else None
    report = assess(snapshot, regime, overrides=reform, engine=engine)
    for a in report.assessments:
        if a.funding.children:
            return EligibleFunding(
                a.regime, a.status.value, a.currency, a.funding.amount, a.reserve, a.insurance
            )
    return None
