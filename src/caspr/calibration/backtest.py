"""Backtest a reserve rule against history (``caspr backtest``), and calibrate it (``caspr calibrate``).

For each incident with enough data — a sourced loss share of custody (incidents.md §4) or a
sourced custody size (§5) — the exchange at the time is rebuilt as a synthetic exposure:

* customer crypto = loss ÷ share (or the sourced custody), in JPY (USD rows at ¥150/$);
* held 5% hot and 95% cold, as Japan's Ordinance Art. 27(2) would have required
  (assumption ``HOT_SHARE``);
* trading volume = ``TURNOVER`` × custody a year, all spot (assumption).

The regime then says what it would have required; the incident is covered when that
requirement is at least the loss. Given a snapshot, each incident's loss share is also
applied to that exchange's customer crypto and compared with the funding its regime
counts (:func:`caspr.assess.eligible_funding`, the figure ``assess`` states).
Calibration searches one multiplier on the regime's
custody rates (hot and cold together) for the cheapest setting meeting a target, and
reports what it would cost across a market of synthetic exchanges.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import numpy as np

from caspr.assess import EligibleFunding, eligible_funding, regime_parameters
from caspr.calibration.incidents import custody_points, library, loss_shares
from caspr.citation import Status
from caspr.engine import AssetExposure, Engine, Exposure
from caspr.errors import NoRuleInForce
from caspr.money import AssetKind, canonical, quantize
from caspr.params import ParameterView
from caspr.rules import REGIMES
from caspr.rules.regime import Context
from caspr.snapshot.loader import Snapshot
from caspr.snapshot.schema import Currency, Exchange, Jurisdiction

HOT_SHARE = Decimal("0.05")
TURNOVER = Decimal(3)
ASSESSED_ON = dt.date(2026, 9, 30)
"""Rules are applied as in force on this date (the proposed Japanese reserve starts 2025-12-10)."""


@dataclass(frozen=True, slots=True)
class Case:
    """One historical incident as a backtest case."""

    id: str
    date: dt.date
    custody: Decimal
    loss: Decimal
    basis: str


def cases() -> list[Case]:
    """Every incident with a sourced share of custody or custody size, and a JPY loss."""
    shares, custody = loss_shares(), custody_points()
    out = []
    for record in library():
        loss = record.loss_in_jpy
        if record.excluded or loss is None:
            continue
        if record.id in custody:
            size, basis = custody[record.id]
        elif record.id in shares:
            share, basis = shares[record.id]
            size = quantize(loss / share, 0, ROUND_CEILING)
        else:
            continue
        out.append(Case(record.id, record.date, size, loss, basis))
    return out


def _context(case: Case) -> Context:
    exchange = Exchange(
        id=case.id,
        name=case.id,
        jurisdiction=Jurisdiction.JP,
        reporting_currency=Currency.JPY,
        as_of=dt.datetime(ASSESSED_ON.year, ASSESSED_ON.month, ASSESSED_ON.day, tzinfo=dt.UTC),
    )
    hot = quantize(case.custody * HOT_SHARE, 0, "ROUND_FLOOR")
    asset = AssetExposure(
        "CUSTODY",
        AssetKind.CRYPTO,
        Decimal(1),
        case.custody,
        hot,
        case.custody - hot,
        Decimal(0),
        Decimal(0),
        hot,
        Decimal(0),
    )
    snapshot = Snapshot(Path("."), exchange, {}, (), (), {})
    return Context(snapshot, Exposure("JPY", (asset,)), {"spot": case.custody * TURNOVER}, ASSESSED_ON)


def requirement(regime_id: str, case: Case, overrides: dict[str, Decimal] | None = None) -> Decimal:
    """What ``regime_id`` would have required of the exchange of ``case``."""
    regime = REGIMES[regime_id]
    if regime.currency not in (None, "JPY"):
        msg = f"{regime_id} sets amounts in {regime.currency}; the backtest values history in JPY"
        raise NoRuleInForce(msg)
    view = ParameterView(regime_id, regime_parameters(regime.parameters_dir), ASSESSED_ON, overrides)
    return regime.assess(_context(case), view).requirement.amount


@dataclass(frozen=True)
class BacktestResult:
    """Per case: requirement against loss; and the shares covered in count and value."""

    regime: str
    rows: tuple[dict[str, Any], ...]
    covered_count: Decimal
    covered_value: Decimal
    status: Status
    funding: EligibleFunding | None = None
    """With a snapshot: the funding its regime counts, against each incident scaled to it."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "regime": self.regime,
            "status": self.status.value,
            "assumptions": {
                "hot_share": f"{HOT_SHARE}",
                "annual_turnover": f"{TURNOVER}",
                "usd_jpy": "150",
                "rules_as_of": ASSESSED_ON.isoformat(),
            },
            "cases": list(self.rows),
            "covered_share_by_count": f"{self.covered_count:f}",
            "covered_share_by_value": f"{self.covered_value:f}",
            "exchange_funding": self.funding.to_dict() if self.funding else None,
        }


def _customer_crypto(snapshot: Snapshot) -> Decimal:
    exposure = Engine(snapshot).exposure()
    return sum(
        (exposure.total(f) for f in ("customer_hot", "customer_cold", "customer_custodian")), Decimal(0)
    )


def backtest(
    regime_id: str = "jp-crypto-reserve",
    overrides: dict[str, Decimal] | None = None,
    snapshot: Snapshot | None = None,
) -> BacktestResult:
    """Apply the regime to every case; covered when the requirement ≥ the loss.

    With ``snapshot``: each case's loss share (loss ÷ custody) times the snapshot's customer
    crypto, rounded up (a loss is never understated), against the funding the regime counts.
    """
    funding = (
        eligible_funding(snapshot, regime=regime_id, overrides=overrides) if snapshot is not None else None
    )
    custody = _customer_crypto(snapshot) if snapshot is not None else Decimal(0)
    rows, covered_n, covered_value, total_value = [], 0, Decimal(0), Decimal(0)
    for case in cases():
        required = requirement(regime_id, case, overrides)
        covered = required >= case.loss
        covered_n += covered
        covered_value += min(required, case.loss)
        total_value += case.loss
        rows.append(
            {
                "id": case.id,
                "date": case.date.isoformat(),
                "custody_jpy": canonical(case.custody),
                "loss_jpy": canonical(case.loss),
                "requirement_jpy": canonical(required),
                "covered": covered,
                "basis": case.basis,
                **(_scaled_case(case, custody, funding) if funding is not None else {}),
            }
        )
    count = Decimal(covered_n) / len(rows) if rows else Decimal(0)
    value = quantize(covered_value / total_value, 4, "ROUND_FLOOR") if total_value else Decimal(0)
    return BacktestResult(
        regime_id, tuple(rows), quantize(count, 4, "ROUND_FLOOR"), value, REGIMES[regime_id].status, funding
    )


def _scaled_case(case: Case, custody: Decimal, funding: EligibleFunding) -> dict[str, Any]:
    """The case's loss share applied to the snapshot's customer crypto, against its funding."""
    loss = quantize(case.loss * custody / case.custody, 0, ROUND_CEILING) if case.custody else Decimal(0)
    return {
        "loss_scaled_to_exchange": canonical(loss),
        "exchange_funding_covers": funding.amount >= loss,
    }


# --------------------------------------------------------------------------------------- calibration

SCALED = ("custody_rate_hot", "custody_rate_cold")


def _scaled(k: Decimal) -> dict[str, Decimal]:
    params = regime_parameters(REGIMES["jp-crypto-reserve"].parameters_dir)
    return {name: params[name].at(ASSESSED_ON).value * k for name in SCALED}


def market(exchanges: int = 28, total: Decimal = Decimal("5000000000000"), seed: int = 2025) -> list[Case]:
    """A synthetic Japanese market: 28 exchanges holding ¥5 trillion (incidents.md §5).

    Sizes are heavy-tailed (lognormal, sigma 1.2) and seeded.
    """
    drawn = np.random.default_rng(seed).lognormal(0, 1.2, exchanges)
    weights = [Decimal(repr(w)) for w in drawn.tolist()]  # the drawn weights' exact decimal text
    sizes = [quantize(total * w / sum(weights, Decimal(0)), 0, "ROUND_FLOOR") for w in weights]
    return [
        Case(f"market-{i:02d}", ASSESSED_ON, size, Decimal(0), "synthetic market")
        for i, size in enumerate(sizes)
    ]


@dataclass(frozen=True)
class Calibration:
    """The cheapest multiplier meeting the target, its parameters, and the market cost."""

    target: str
    multiplier: Decimal
    parameters: dict[str, Decimal]
    achieved: Decimal
    market_cost: Decimal
    market_cost_at_defaults: Decimal
    warnings: tuple[str, ...] = ()
    """Calibrated parameters outside the plausible range their parameter file gives, with its reason."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "target": self.target,
            "multiplier_on_custody_rates": canonical(self.multiplier),
            "parameters": {k: canonical(v) for k, v in self.parameters.items()},
            "achieved": canonical(self.achieved),
            "market_cost_jpy": canonical(self.market_cost),
            "market_cost_at_defaults_jpy": canonical(self.market_cost_at_defaults),
            "warnings": list(self.warnings),
            "method": "bisection on one multiplier of custody_rate_hot and custody_rate_cold "
            "(the requirement is monotone in it); market = 28 synthetic exchanges holding ¥5tn",
        }


def _cost(k: Decimal, population: list[Case]) -> Decimal:
    overrides = _scaled(k)
    return sum((requirement("jp-crypto-reserve", c, overrides) for c in population), Decimal(0))


def calibrate(coverage: Decimal, by: str = "value", high: Decimal = Decimal(200)) -> Calibration:
    """Cheapest multiplier whose backtest covers at least ``coverage`` of history (by value or count)."""

    def achieved(k: Decimal) -> Decimal:
        result = backtest("jp-crypto-reserve", _scaled(k))
        return result.covered_value if by == "value" else result.covered_count

    low, top = Decimal(0), high
    if achieved(top) < coverage:
        msg = f"no multiplier up to {high} reaches {coverage} coverage by {by}"
        raise ValueError(msg)
    for _ in range(40):  # bisection to 1e-10 of the bracket: deterministic
        mid = (low + top) / 2
        if achieved(mid) >= coverage:
            top = mid
        else:
            low = mid
    k = quantize(top, 4, ROUND_CEILING)
    population = market()
    parameters = _scaled(k)
    return Calibration(
        f"historical losses covered by {by} ≥ {coverage}",
        k,
        parameters,
        achieved(k),
        _cost(k, population),
        _cost(Decimal(1), population),
        plausibility_warnings(parameters),
    )


def plausibility_warnings(parameters: dict[str, Decimal]) -> tuple[str, ...]:
    """One warning per value outside the plausible range of its parameter file (with the file's reason)."""
    files = regime_parameters(REGIMES["jp-crypto-reserve"].parameters_dir)
    out = []
    for name, value in parameters.items():
        plausible = files[name].file.plausible
        if plausible is not None and plausible.outside(value):
            out.append(
                f"{name} = {canonical(value)} is outside its plausible range "
                f"{canonical(plausible.min)}-{canonical(plausible.max)}: {plausible.reason}"
            )
    return tuple(out)
