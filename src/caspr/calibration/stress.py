"""Monte Carlo of an exchange's annual outflow losses (``caspr stress``).

Annual loss S = Σ_{i ≤ N} X_i · V: N incidents a year ~ Poisson(λ) (or negative binomial),
each taking a share X_i ~ Beta(a, b) of the customer crypto V. Vectorised with NumPy,
seeded (PCG64): the same seed gives the same numbers, byte for byte. Capacity = the
eligible funding the exchange's regime counts (:func:`caspr.assess.eligible_funding`: the
same figure ``assess`` reports), the money that would meet a year's losses before company
capital.

Risk measures on the simulated years, which are a discrete, zero-inflated distribution (most
exchange-years lose nothing), follow their definitions rather than a smoothing of the sample
(Acerbi & Tasche, "On the coherence of expected shortfall", J. Banking & Finance 26, 2002):

* ``VaR_α = inf{x : P(L ≤ x) ≥ α}``, the lower α-quantile: the ⌈nα⌉-th smallest of n years;
* ``ES_α = (E[L·1{L > VaR_α}] + VaR_α·(P(L ≤ VaR_α) − α)) / (1 − α)``: the mean of the worst
  (1 − α) share of years, counting the year at the VaR in part when n(1 − α) is not whole.

When fewer than (1 − α) of years lose anything, VaR_α is 0 and ES_α is the mean loss of the
worst (1 − α) of years, i.e. E[L] / (1 − α): issue #15 saw ES equal to E[L], 20 times too low.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import numpy as np

from caspr.assess import eligible_funding
from caspr.calibration.model import LossModel
from caspr.engine import Engine
from caspr.money import quantize
from caspr.snapshot.loader import Snapshot


def simulate(
    model: LossModel,
    custody: float,  # float-ok: statistics, not money
    years: int,
    seed: int,  # float-ok: simulation input
    negative_binomial: bool = False,
) -> Any:
    """Annual losses for ``years`` simulated exchange-years (a NumPy array of binary floats)."""
    rng = np.random.default_rng(seed)
    if negative_binomial and model.nb_size:
        size = model.nb_size
        counts = rng.negative_binomial(size, size / (size + model.frequency), years)
        year_of = np.repeat(np.arange(years), counts)
    else:
        # i.i.d. Poisson(λ) counts per year ⇔ a Poisson(λ·years) total spread uniformly over the years
        year_of = rng.integers(0, years, rng.poisson(model.frequency * years))
    shares = rng.beta(model.beta_a, model.beta_b, len(year_of))
    return np.bincount(year_of, weights=shares * custody, minlength=years)


def var_es(losses: Any, level: Decimal) -> tuple[float, float]:  # float-ok: statistics
    """VaR and expected shortfall at ``level`` of equally likely outcomes, by their definitions.

    ``VaR = L₍k₎`` with ``k = ⌈nα⌉`` (1-based, ascending); ``ES = (Σ_{L > VaR} L + VaR·(k − n·α))
    ÷ (n·(1 − α))``, the discrete form of Acerbi & Tasche's (2002) definition; n·α is computed
    exactly from the Decimal level.
    """
    ordered = np.sort(np.asarray(losses, dtype=np.float64))  # float-ok: simulated losses
    n = len(ordered)
    n_alpha = Decimal(n) * level
    k = int(n_alpha.to_integral_value(rounding=ROUND_CEILING))
    var = float(ordered[max(k, 1) - 1])  # float-ok
    above = ordered[ordered > var]
    at_var = Decimal(int(np.count_nonzero(ordered <= var))) - n_alpha  # n·(P(L ≤ VaR) − α) ≥ 0
    tail_weight = Decimal(n) - n_alpha  # n·(1 − α)
    es = (float(above.sum()) + var * float(at_var)) / float(tail_weight)  # float-ok
    return var, es


def frequency_method(model: LossModel, negative_binomial: bool) -> str:
    """What the simulation drew its yearly counts from (stated, never the fit's default)."""
    if negative_binomial and model.nb_size:
        return (
            f"negative binomial (size r = {model.nb_size:.6g}, method of moments on the yearly counts; "
            f"mean λ = {model.frequency:.6g} per exchange-year)"
        )
    if negative_binomial:
        return (
            f"Poisson MLE (λ = {model.frequency:.6g} per exchange-year): negative binomial asked, but the "
            "yearly counts are not over-dispersed"
        )
    return f"Poisson MLE (λ = {model.frequency:.6g} per exchange-year, assumed exchanges at risk)"


def capacity(snapshot: Snapshot, engine: Engine | None = None) -> tuple[Decimal, str | None]:
    """The eligible funding the exchange's regime counts (0 and None when no regime counts any).

    Not recomputed here: the regime says what is eligible and how much (issue 15).
    """
    funding = eligible_funding(snapshot, engine)
    if funding is None:
        return Decimal(0), None
    return funding.amount, funding.regime


@dataclass(frozen=True)
class StressResult:
    """Distribution summary of simulated annual losses and the chance funding falls short."""

    currency: str
    exchange: str
    frequency_method: str
    custody: Decimal
    years: int
    seed: int
    mean: Decimal
    var: dict[str, Decimal]
    expected_shortfall: dict[str, Decimal]
    capacity: Decimal
    probability_short: Decimal
    probability_any_loss: Decimal
    losses: Any  # the simulated array, for the plot
    capacity_regime: str | None = None
    """The regime whose eligible funding is the capacity (the same figure ``assess`` states)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (amounts rounded up to the currency unit: a loss is never understated)."""
        return {
            "exchange": self.exchange,
            "currency": self.currency,
            "frequency_method": self.frequency_method,
            "risk_measures": "VaR = lower quantile inf{x: P(L <= x) >= level}; ES = mean of the worst "
            "(1 - level) of years (Acerbi & Tasche 2002)",
            "customer_crypto": f"{self.custody:f}",
            "years": self.years,
            "seed": self.seed,
            "mean_annual_loss": f"{self.mean:f}",
            "value_at_risk": {k: f"{v:f}" for k, v in self.var.items()},
            "expected_shortfall": {k: f"{v:f}" for k, v in self.expected_shortfall.items()},
            "capacity_reserve_plus_insurance": f"{self.capacity:f}",
            "capacity_regime": self.capacity_regime,
            "probability_capacity_short": f"{self.probability_short:f}",
            "probability_any_loss": f"{self.probability_any_loss:f}",
        }


def _up(x: float) -> Decimal:  # float-ok: a simulated statistic, rounded up to the unit
    return quantize(Decimal(repr(float(x))), 0, ROUND_CEILING)  # float-ok


def stress(
    snapshot: Snapshot,
    model: LossModel,
    years: int,
    seed: int,
    levels: tuple[Decimal, ...],
    negative_binomial: bool = False,
) -> StressResult:
    """Simulate, then summarise at each confidence level."""
    engine = Engine(snapshot)
    exposure = engine.exposure()
    custody = (
        exposure.total("customer_hot")
        + exposure.total("customer_cold")
        + exposure.total("customer_custodian")
    )
    losses = simulate(model, float(custody), years, seed, negative_binomial)  # float-ok
    var, es = {}, {}
    for level in levels:
        value_at_risk, shortfall = var_es(losses, level)
        var[f"{level}"] = _up(value_at_risk)
        es[f"{level}"] = _up(shortfall)
    cap, cap_regime = capacity(snapshot, engine)
    short = Decimal(int((losses > float(cap)).sum())) / years  # float-ok
    any_loss = Decimal(int((losses > 0).sum())) / years
    return StressResult(
        exposure.currency,
        snapshot.exchange.name,
        frequency_method(model, negative_binomial),
        quantize(custody, 0, "ROUND_FLOOR"),
        years,
        seed,
        _up(losses.mean()),
        var,
        es,
        cap,
        short,
        any_loss,
        losses,
        cap_regime,
    )


def document(result: StressResult, model: LossModel) -> dict[str, Any]:
    """The stress document (result and model), its frequency method the one actually simulated."""
    fitted = model.to_dict()
    fitted["frequency"]["method"] = result.frequency_method
    return {**result.to_dict(), "model": fitted}


VAR_STYLES = (("#c62828", ":"), ("#6a1b9a", "-."), ("#ef6c00", (0, (5, 2))), ("#00838f", (0, (1, 3))))
"""Colour and dash per VaR line, so that no two levels look alike."""


def plot(result: StressResult, path: Path) -> None:
    """An exceedance curve of annual losses with the VaR levels and the capacity (PNG)."""
    import matplotlib as mpl  # noqa: PLC0415 - plotting is optional and slow to import

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    losses = np.sort(result.losses[result.losses > 0])
    exceed = (len(losses) - np.arange(len(losses))) / result.years  # P(annual loss ≥ x)
    figure, axis = plt.subplots(figsize=(8, 4.5), dpi=110)
    axis.loglog(losses, exceed, color="#1f4e79", label="P(annual loss ≥ x)")
    axis.axvline(
        float(result.capacity),  # float-ok: a plot coordinate
        color="#2e7d32",
        linestyle="--",
        label="reserve + insurance",
    )  # float-ok
    for i, (level, value) in enumerate(result.var.items()):
        colour, dash = VAR_STYLES[i % len(VAR_STYLES)]
        label = f"VaR {level} = {value:,f} (ES {result.expected_shortfall[level]:,f})"
        if value <= 0:  # a zero VaR has no place on a log axis: said in the legend instead
            axis.plot([], [], color=colour, linestyle=dash, label=f"{label}: no loss in {level} of years")
            continue
        axis.axvline(float(value), color=colour, linestyle=dash, label=label)  # float-ok: a plot coordinate
    axis.set_xlabel(f"annual outflow loss ({result.currency})")
    axis.set_ylabel("probability of exceeding")
    axis.set_title(
        f"{result.exchange}: simulated annual losses, {result.years:,} exchange-years (seed {result.seed})\n"
        f"{result.frequency_method}",
        fontsize=9,
    )
    axis.legend(loc="lower left", fontsize=8)
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    path.write_bytes(buffer.getvalue())
