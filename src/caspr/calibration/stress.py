"""Monte Carlo of an exchange's annual outflow losses (``caspr stress``).

Annual loss S = Σ_{i ≤ N} X_i · V: N incidents a year ~ Poisson(λ) (or negative binomial),
each taking a share X_i ~ Beta(a, b) of the customer crypto V. Vectorised with NumPy,
seeded (PCG64): the same seed gives the same numbers, byte for byte. Capacity = the
eligible funding the exchange's regime counts (:func:`caspr.assess.eligible_funding`: the
same figure ``assess`` reports), the money that would meet a year's losses before company
capital.
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
            "currency": self.currency,
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
        threshold = float(np.quantile(losses, float(level), method="higher"))  # float-ok
        tail = losses[losses >= threshold]
        var[f"{level}"] = _up(threshold)
        es[f"{level}"] = _up(tail.mean() if len(tail) else threshold)
    cap, cap_regime = capacity(snapshot, engine)
    short = Decimal(int((losses > float(cap)).sum())) / years  # float-ok
    any_loss = Decimal(int((losses > 0).sum())) / years
    return StressResult(
        exposure.currency,
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
    for level, value in result.var.items():
        axis.axvline(float(value), color="#c62828", linestyle=":", label=f"VaR {level}")  # float-ok
    axis.set_xlabel(f"annual outflow loss ({result.currency})")
    axis.set_ylabel("probability of exceeding")
    axis.set_title(f"Simulated annual losses, {result.years:,} exchange-years (seed {result.seed})")
    axis.legend(loc="lower left", fontsize=8)
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    path.write_bytes(buffer.getvalue())
