"""Incident library, loss model, stress against closed forms, backtest and calibration."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from caspr.calibration import incidents
from caspr.calibration.backtest import backtest, calibrate, cases, plausibility_warnings
from caspr.calibration.model import fit
from caspr.calibration.stress import document as stress_document
from caspr.calibration.stress import simulate, stress, var_es
from caspr.cli.main import app
from caspr.snapshot.loader import load_snapshot
from tests.conftest import write_snapshot


def test_library_ships_51_sourced_incidents_with_the_exclusions_flagged():
    rows = incidents.library()
    assert len(rows) == 51
    assert all(r.source_url.startswith("http") for r in rows)
    excluded = {r.id for r in rows if r.excluded}
    assert excluded == set(incidents.EXCLUDED_FROM_CUSTODY_FIT)
    dmm = next(r for r in rows if r.id == "dmm-bitcoin-2024")
    assert dmm.loss_jpy == Decimal("48200000000")
    assert len(incidents.select(jurisdiction="JP")) == 9


def test_model_fit_is_deterministic_and_frequency_is_the_mle():
    model = fit()
    assert model == fit()
    assert model.incidents == 44  # 51 less the 7 exclusions
    assert model.frequency == 44 / (12 * 150)  # Poisson MLE: incidents ÷ exchange-years
    assert sum(model.yearly_counts) == 44
    assert 0 < model.mean_share < 1
    assert model.beta_ks_p > 0.05  # the beta fits the observed shares


def test_simulation_matches_the_compound_poisson_closed_form():
    model = fit()
    custody, years = 1_000_000.0, 1_000_000
    losses = simulate(model, custody, years, seed=42)
    a, b, lam = model.beta_a, model.beta_b, model.frequency
    mean_x = a / (a + b)
    second_x = a * (a + 1) / ((a + b) * (a + b + 1))
    expected_mean = lam * custody * mean_x  # E[S] = λ E[X]
    expected_var = lam * custody**2 * second_x  # Var[S] = λ E[X²]
    standard_error = (expected_var / years) ** 0.5
    assert abs(losses.mean() - expected_mean) < 4 * standard_error
    assert abs(losses.var() / expected_var - 1) < 0.05
    assert np.array_equal(losses, simulate(model, custody, years, seed=42))  # same seed, same draws


def test_stress_is_reproducible_to_the_byte(tiny):
    snapshot = load_snapshot(tiny)
    model = fit()
    first = stress(snapshot, model, 50_000, 7, (Decimal("0.99"),))
    second = stress(snapshot, model, 50_000, 7, (Decimal("0.99"),))
    other = stress(snapshot, model, 50_000, 8, (Decimal("0.99"),))
    assert json.dumps(first.to_dict()) == json.dumps(second.to_dict())
    assert first.to_dict() != other.to_dict()
    # the tiny exchange has ¥500,000 of cash trust + a ¥1,000,000 hot policy (¥10,000 retention)
    assert first.capacity == Decimal(1_490_000)


def test_backtest_case_computed_by_hand():
    # BITPoint 2019: custody ¥16bn (incidents.md §5), held 5% hot (¥0.8bn) and 95% cold (¥15.2bn),
    # spot volume 3 × ¥16bn = ¥48bn. Proposed JP reserve: 48bn × 0.0005 + 0.8bn × 0.25 + 15.2bn × 0.01
    # = 24m + 200m + 152m = ¥376m < ¥3.02bn lost → not covered.
    result = backtest()
    bitpoint = next(r for r in result.rows if r["id"] == "bitpoint-2019")
    assert bitpoint["requirement_jpy"] == "376000000"
    assert bitpoint["covered"] is False
    assert len(result.rows) == len(cases()) >= 10
    assert json.dumps(backtest().to_dict()) == json.dumps(result.to_dict())


def test_calibration_finds_the_cheapest_multiplier():
    target = Decimal("0.5")
    result = calibrate(target)
    assert result.achieved >= target
    below = backtest("jp-crypto-reserve", {k: v * Decimal("0.99") for k, v in result.parameters.items()})
    assert below.covered_value < target
    assert result.market_cost > result.market_cost_at_defaults  # more coverage costs more


def test_cli_commands(tmp_path):
    runner = CliRunner()
    listing = runner.invoke(app, ["incidents", "--format", "csv", "--custody-only"])
    assert listing.exit_code == 0
    assert listing.output.count("\n") == 45  # header + 44 rows
    root = write_snapshot(tmp_path / "tiny")
    plot = tmp_path / "stress.png"
    result = runner.invoke(
        app, ["stress", str(root), "--years", "20000", "--seed", "3", "--plot", str(plot), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(result.output)["years"] == 20000
    bad = runner.invoke(app, ["stress", str(root), "--levels", "1.5"])
    assert bad.exit_code == 2


def brute_force_var_es(losses, level):
    """Replicate every year m times so that the worst (1 − level) share is a whole number of years,
    then VaR = the smallest loss x with at least level of years at or below it, ES = their mean."""
    n = len(losses)
    tail = (Fraction(1) - Fraction(str(level))) * n
    m = tail.denominator
    expanded = sorted(x for x in losses for _ in range(m))
    k = int(tail * m)
    var = next(
        x for x in expanded if Fraction(sum(1 for y in expanded if y <= x), n * m) >= Fraction(str(level))
    )
    return var, sum(expanded[len(expanded) - k :]) / k


@pytest.mark.parametrize("level", ["0.95", "0.975", "0.99", "0.995", "0.9995"])
def test_var_and_es_on_a_zero_inflated_loss_match_the_closed_form(level):
    # Bernoulli losses: V = 1,000 with probability p = 2.4% (24 of 1,000 years), else 0.
    # Closed form: VaR_α = 0 when α ≤ 1 − p, else V; ES_α = V · min(1, p / (1 − α)).
    # At 95%: VaR 0 and ES = 1,000 × 0.024 / 0.05 = 480 (issue #15: the old code said ES = the mean, 24).
    losses = np.array([1000.0] * 24 + [0.0] * 976)
    alpha, p = Fraction(level), Fraction(24, 1000)
    var, es = var_es(losses, Decimal(level))
    assert var == (0 if alpha <= 1 - p else 1000)
    assert es == pytest.approx(float(1000 * min(Fraction(1), p / (1 - alpha))), rel=1e-12)


@given(
    st.lists(st.sampled_from([0.0, 0.0, 0.0, 1.0, 2.5, 7.0, 40.0]), min_size=1, max_size=60),
    st.sampled_from(["0.5", "0.9", "0.95", "0.99", "0.995"]),
)
@settings(deadline=None)
def test_var_and_es_equal_a_brute_force_reference(losses, level):
    var, es = var_es(np.array(losses), Decimal(level))
    reference_var, reference_es = brute_force_var_es(losses, level)
    assert var == reference_var
    assert es == pytest.approx(reference_es, rel=1e-12, abs=1e-12)


def test_stress_names_the_frequency_it_simulated_and_the_exchange(tiny):
    snapshot = load_snapshot(tiny)
    model = fit()
    poisson = stress_document(stress(snapshot, model, 20_000, 1, (Decimal("0.99"),)), model)
    assert poisson["model"]["frequency"]["method"].startswith("Poisson MLE")
    assert poisson["exchange"] == snapshot.exchange.name
    nb = stress_document(
        stress(snapshot, model, 20_000, 1, (Decimal("0.99"),), negative_binomial=True), model
    )
    expected = "negative binomial" if model.nb_size else "negative binomial asked, but"
    assert expected in nb["model"]["frequency"]["method"]  # issue #15: it said "Poisson MLE"


def test_calibration_warns_when_a_parameter_leaves_its_plausible_range():
    # Issue #15: --coverage 0.9 proposed custody_rate_hot ≈ 5.1 (509% of hot assets) without a word.
    # The parameter files bound both custody rates to 0-1: no reserve above 100% of the assets it protects.
    high = calibrate(Decimal("0.9"))
    assert high.parameters["custody_rate_hot"] > 1
    (warning,) = [w for w in high.warnings if w.startswith("custody_rate_hot")]
    assert "outside its plausible range 0-1" in warning
    assert "100% of the hot assets" in warning
    assert high.to_dict()["warnings"] == list(high.warnings)
    assert (
        plausibility_warnings({"custody_rate_hot": Decimal("0.25"), "custody_rate_cold": Decimal("0.01")})
        == ()
    )
