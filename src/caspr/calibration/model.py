"""The loss model: incident frequency per exchange-year and severity as a share of custody.

Methods (stated; see docs/calibration.md):

* **Frequency.** Custody-loss incidents per calendar year 2014-2025 (the library less
  the rows incidents.md §1 excludes). The exchange-years at risk are an explicit
  assumption (``exchanges_at_risk`` × years), because the sources count incidents, not
  exchanges. Poisson by maximum likelihood (λ = incidents ÷ exchange-years); the yearly
  counts' dispersion (variance ÷ mean, with a χ² index-of-dispersion test) says whether a
  negative binomial (method of moments) fits better. Reference: Klugman, Panjer &
  Willmot, *Loss Models*, ch. 6-7.
* **Severity (share of custody).** A beta distribution fitted by maximum likelihood
  (``scipy.stats.beta.fit`` with loc 0, scale 1) to the loss shares observed in
  incidents.md §4, with a Kolmogorov-Smirnov test.
* **Severity (USD).** A lognormal body and a generalized Pareto tail above the 75th
  percentile (peaks over threshold; McNeil, Frey & Embrechts, *Quantitative Risk
  Management*, ch. 7), fitted by maximum likelihood, with KS tests; reported for context.

These are statistical estimates in binary floating point (never ledger amounts); every
figure that reaches a report is rounded explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from caspr.calibration.incidents import loss_shares, select

FIRST_YEAR, LAST_YEAR = 2014, 2025
EXCHANGES_AT_RISK = 150
"""Assumed number of exchanges with material customer custody, worldwide, each year of the
window (order of magnitude of the platforms the sources track). An explicit, overridable
assumption: frequency per exchange-year scales inversely with it."""


@dataclass(frozen=True, slots=True)
class LossModel:
    """Fitted frequency and severity, with their goodness of fit."""

    incidents: int
    years: int
    exchanges_at_risk: int
    frequency: float  # float-ok: a statistical rate per exchange-year
    yearly_counts: tuple[int, ...]
    dispersion: float  # float-ok
    dispersion_p: float  # float-ok
    nb_size: float | None  # float-ok: negative binomial r (None when not over-dispersed)
    beta_a: float  # float-ok
    beta_b: float  # float-ok
    beta_ks_p: float  # float-ok
    shares: tuple[float, ...]  # float-ok
    usd_lognormal: tuple[float, float]  # float-ok: (mu, sigma) of the body
    usd_threshold: float  # float-ok
    usd_gpd: tuple[float, float]  # float-ok: (shape xi, scale beta) of the tail
    usd_tail_ks_p: float  # float-ok
    usd_body_ks_p: float  # float-ok

    @property
    def mean_share(self) -> float:  # float-ok
        """Mean severity as a share of custody."""
        return self.beta_a / (self.beta_a + self.beta_b)

    def to_dict(self) -> dict[str, Any]:
        """Rounded for reports (6 significant digits)."""

        def r(x: float) -> float:  # float-ok
            return float(f"{x:.6g}")  # float-ok

        return {
            "frequency": {
                "method": "Poisson MLE over exchange-years (assumed exchanges at risk)",
                "incidents": self.incidents,
                "years": f"{FIRST_YEAR}-{LAST_YEAR}",
                "exchanges_at_risk": self.exchanges_at_risk,
                "lambda_per_exchange_year": r(self.frequency),
                "yearly_counts": list(self.yearly_counts),
                "dispersion_index": r(self.dispersion),
                "dispersion_test_p": r(self.dispersion_p),
                "negative_binomial_size": r(self.nb_size) if self.nb_size else None,
            },
            "severity_share": {
                "method": "beta MLE on observed loss shares of custody (incidents.md §4)",
                "a": r(self.beta_a),
                "b": r(self.beta_b),
                "mean": r(self.mean_share),
                "observations": len(self.shares),
                "ks_p": r(self.beta_ks_p),
            },
            "severity_usd": {
                "method": "lognormal body + generalized Pareto tail above the 75th percentile",
                "lognormal_mu": r(self.usd_lognormal[0]),
                "lognormal_sigma": r(self.usd_lognormal[1]),
                "threshold_usd": r(self.usd_threshold),
                "gpd_shape": r(self.usd_gpd[0]),
                "gpd_scale": r(self.usd_gpd[1]),
                "body_ks_p": r(self.usd_body_ks_p),
                "tail_ks_p": r(self.usd_tail_ks_p),
            },
        }


def fit(exchanges_at_risk: int = EXCHANGES_AT_RISK) -> LossModel:
    """Fit the model on the shipped library (deterministic: same library, same numbers)."""
    rows = [r for r in select(custody_only=True) if FIRST_YEAR <= r.date.year <= LAST_YEAR]
    years = LAST_YEAR - FIRST_YEAR + 1
    counts = np.bincount([r.date.year - FIRST_YEAR for r in rows], minlength=years)
    mean, variance = counts.mean(), counts.var(ddof=1)
    dispersion = variance / mean
    dispersion_p = float(stats.chi2.sf(dispersion * (years - 1), years - 1))  # float-ok
    nb_size = mean**2 / (variance - mean) if variance > mean else None
    shares = np.array(sorted(float(s) for s, _ in loss_shares().values()))  # float-ok
    a, b, _, _ = stats.beta.fit(shares, floc=0, fscale=1)
    beta_p = float(stats.kstest(shares, "beta", args=(a, b)).pvalue)  # float-ok
    usd = np.array(sorted(float(r.loss_usd) for r in rows if r.loss_usd))  # float-ok
    threshold = float(np.quantile(usd, 0.75))  # float-ok
    body = usd[usd <= threshold]
    mu, sigma = float(np.log(body).mean()), float(np.log(body).std(ddof=1))  # float-ok
    tail = usd[usd > threshold] - threshold
    xi, _, scale = stats.genpareto.fit(tail, floc=0)
    tail_p = float(stats.kstest(tail, "genpareto", args=(xi, 0, scale)).pvalue)  # float-ok
    body_p = float(stats.kstest(np.log(body), "norm", args=(mu, sigma)).pvalue)  # float-ok
    return LossModel(
        incidents=len(rows),
        years=years,
        exchanges_at_risk=exchanges_at_risk,
        frequency=len(rows) / (years * exchanges_at_risk),
        yearly_counts=tuple(int(c) for c in counts),
        dispersion=float(dispersion),  # float-ok: statistics, not money
        dispersion_p=dispersion_p,  # float-ok
        nb_size=float(nb_size) if nb_size else None,  # float-ok
        beta_a=float(a),  # float-ok: statistics, not money
        beta_b=float(b),  # float-ok: statistics, not money
        beta_ks_p=beta_p,
        shares=tuple(shares.tolist()),  # float-ok
        usd_lognormal=(mu, sigma),
        usd_threshold=threshold,
        usd_gpd=(float(xi), float(scale)),  # float-ok
        usd_tail_ks_p=tail_p,
        usd_body_ks_p=body_p,
    )
