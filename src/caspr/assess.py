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
    currency: str
    assessments: tuple[Assessment, ...]
    skipped: tuple[Skipped, ...]

    @property
    def breached(self) -> bool:
        """Whether any assessment found a breach."""
        return any(a.breaches for a in self.assessments)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``caspr assess --format json``."""
        return {
            "exchange": self.exchange,
            "as_of": self.as_of.isoformat(),
            "currency": self.currency,
            "assessments": [a.to_dict() for a in self.assessments],
            "skipped": [{"regime": s.regime, "reason": s.reason} for s in self.skipped],
        }


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
    """Exposure and trailing-12-month volumes up to the day before ``as_of``."""
    engine = engine or Engine(snapshot)
    end = as_of - dt.timedelta(days=1)
    start = end - dt.timedelta(days=364)
    return Context(
        snapshot, engine.exposure(), engine.volumes(start, end), as_of, engine.average_prices(start, end)
    )


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
        if regime.currency is not None and regime.currency != ctx.currency:
            reason = (
                f"its fixed amounts are in {regime.currency} and the snapshot reports in "
                f"{ctx.currency}; caspr does not convert currencies"
            )
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
    return Report(snapshot.exchange.id, date, ctx.currency, tuple(done), tuple(skipped))
