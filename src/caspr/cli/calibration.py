"""``caspr incidents``, ``stress``, ``backtest`` and ``calibrate``: the loss history and calibration."""

from __future__ import annotations

import csv
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from caspr.cli import render
from caspr.cli.common import (
    AssessFormat,
    OutputFormat,
    app,
    console,
    fail,
    fail_input,
    open_snapshot,
    show,
    writable_parent,
)
from caspr.errors import InputError, NoRuleInForce
from caspr.params import load_overrides
from caspr.rules import REGIMES

MAX_YEARS = 10_000_000
"""Largest ``stress --years``: about 0.5 GB resident at the peak (measured: 456 MB)."""


@app.command("incidents")
def incidents_command(
    output: Annotated[AssessFormat, typer.Option("--format", help="table, json or csv")] = AssessFormat.TABLE,
    jurisdiction: Annotated[str | None, typer.Option("--jurisdiction", help="e.g. JP")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="e.g. hot_wallet_hack")] = None,
    custody_only: Annotated[
        bool, typer.Option("--custody-only", help="Only rows used for loss fitting")
    ] = False,
) -> None:
    """The incident library (51 sourced losses, 2014-2025), with the rows left out of fitting flagged."""
    from caspr.calibration import incidents as incident_library  # noqa: PLC0415 - SciPy: loaded when used

    library = incident_library.library()
    jurisdiction = _one_of("--jurisdiction", jurisdiction, {r.jurisdiction for r in library})
    kind = _one_of("--kind", kind, {r.kind for r in library})
    rows = [r.to_dict() for r in incident_library.select(jurisdiction, kind, custody_only)]
    if output is AssessFormat.JSON:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif output is AssessFormat.CSV:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["id"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        show(render.incidents_table(rows))


def _one_of(option: str, given: str | None, known: set[str]) -> str | None:
    """``given`` matched case-insensitively to one of ``known``, or exit 2 listing them."""
    if given is None:
        return None
    by_fold = {k.casefold(): k for k in known}
    if given.casefold() not in by_fold:
        fail(f"{option} {given!r} is not in the library (known: {', '.join(sorted(known))})")
    return by_fold[given.casefold()]


def _levels(text: str) -> tuple[Decimal, ...]:
    try:
        levels = tuple(Decimal(x) for x in text.split(","))
    except ArithmeticError:
        fail(f"--levels must be decimals like 0.99,0.995, got {text!r}")
    if not all(Decimal(0) < x < Decimal(1) for x in levels):
        fail("--levels must lie strictly between 0 and 1")
    return levels


@app.command("stress")
def stress_command(
    directory: Annotated[Path, typer.Argument(help="Snapshot folder")],
    years: Annotated[
        int,
        typer.Option(
            "--years",
            min=1000,
            max=MAX_YEARS,
            help=f"Simulated exchange-years (1,000 to {MAX_YEARS:,}: memory grows with the years)",
        ),
    ] = 200_000,
    seed: Annotated[int, typer.Option("--seed")] = 1,
    levels: Annotated[str, typer.Option("--levels", help="Confidence levels")] = "0.99,0.995",
    negative_binomial: Annotated[
        bool, typer.Option("--negative-binomial", help="Over-dispersed frequency")
    ] = False,
    plot_file: Annotated[Path | None, typer.Option("--plot", help="Write the exceedance curve (PNG)")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json")] = OutputFormat.TABLE,
) -> None:
    """Monte Carlo of annual outflow losses: VaR, expected shortfall, chance the funding falls short."""
    from caspr.calibration.model import fit as fit_model  # noqa: PLC0415 - SciPy: loaded when used
    from caspr.calibration.stress import document as stress_document  # noqa: PLC0415
    from caspr.calibration.stress import plot as stress_plot  # noqa: PLC0415
    from caspr.calibration.stress import stress as stress_run  # noqa: PLC0415

    writable_parent(plot_file, "--plot")
    snapshot = open_snapshot(directory)
    model = fit_model()
    result = stress_run(snapshot, model, years, seed, _levels(levels), negative_binomial)
    if plot_file is not None:
        stress_plot(result, plot_file)
    document = stress_document(result, model)
    if output is OutputFormat.JSON:
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return
    show(render.stress_view(document))
    if plot_file is not None:
        console.print(f"wrote {plot_file}")


@app.command("backtest")
def backtest_command(
    regime: Annotated[
        str, typer.Option("--regime", help="A regime with a requirement")
    ] = "jp-crypto-reserve",
    params: Annotated[Path | None, typer.Option("--params", help="Reform file overriding parameters")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json")] = OutputFormat.TABLE,
    snapshot_dir: Annotated[
        Path | None,
        typer.Option("--snapshot", help="Also scale each incident to this exchange and test its funding"),
    ] = None,
) -> None:
    """What the regime would have required of each historical exchange, and whether it covered the loss."""
    from caspr.calibration.backtest import backtest as run_backtest  # noqa: PLC0415

    if regime not in REGIMES:
        fail(f"unknown regime {regime!r} (known: {', '.join(REGIMES)})")
    try:
        overrides = load_overrides(params).get(regime) if params else None
        snapshot = open_snapshot(snapshot_dir) if snapshot_dir is not None else None
        result = run_backtest(regime, overrides, snapshot)
    except InputError as error:
        fail_input(error)
    except NoRuleInForce as error:
        fail(str(error))
    if output is OutputFormat.JSON:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    show(render.backtest_view(result.to_dict()))
    if result.funding is not None:
        covered = sum(1 for row in result.rows if row["exchange_funding_covers"])
        console.print(
            f"{result.funding.regime} eligible funding of the exchange: {result.funding.amount:,f} "
            f"{result.funding.currency}; covers {covered} of {len(result.rows)} incidents scaled to it"
        )


@app.command("calibrate")
def calibrate_command(
    coverage: Annotated[str, typer.Option("--coverage", help="Target share of history covered")] = "0.5",
    by: Annotated[str, typer.Option("--by", help="value or count")] = "value",
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json")] = OutputFormat.TABLE,
) -> None:
    """For a regulator: the cheapest Japanese reserve custody rates meeting a target, and the cost."""
    from caspr.calibration.backtest import calibrate as run_calibration  # noqa: PLC0415

    if by not in ("value", "count"):
        fail("--by must be value or count")
    try:
        target = Decimal(coverage)
        result = run_calibration(target, by)
    except (ArithmeticError, ValueError) as exc:
        fail(str(exc))
    if output is OutputFormat.JSON:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    show(render.calibration_view(result.to_dict()))
