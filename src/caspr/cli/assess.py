"""``caspr assess`` and ``caspr custody``: requirements, funding, segregation and breaches."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from caspr.assess import Report, assess
from caspr.cli import render
from caspr.cli.common import (
    AssessFormat,
    OutputFormat,
    app,
    console,
    fail,
    fail_input,
    open_snapshot,
    parse_date,
    show,
)
from caspr.custody import custody_report
from caspr.engine import Engine
from caspr.errors import InputError, NoRuleInForce
from caspr.money import canonical
from caspr.params import load_overrides
from caspr.rules import REGIMES
from caspr.snapshot.loader import Snapshot


def run_assessment(
    snapshot: Snapshot,
    regime: str | None,
    as_of: dt.date | None,
    params: Path | None,
    engine: Engine | None = None,
) -> Report:
    """Assess with CLI error handling: unknown regimes, bad reforms, no rule in force."""
    if regime is not None and regime != "all" and regime not in REGIMES:
        fail(f"unknown regime {regime!r} (known: {', '.join(REGIMES)}, all)")
    try:
        overrides = load_overrides(params) if params is not None else None
        return assess(snapshot, regime, as_of, overrides, str(params) if params else "--params", engine)
    except InputError as error:
        fail_input(error)
    except NoRuleInForce as error:
        fail(f"no rule in force: {error}")


def print_report(report: Report, output: AssessFormat) -> None:
    """The report as tables for people, one JSON document, or CSV rows of components."""
    if output is AssessFormat.JSON:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    if output is AssessFormat.CSV:
        write_csv(report)
        return
    snapshot_date = report.snapshot_as_of or report.as_of
    console.print(
        f"[bold]{report.exchange}[/] assessed as of {report.as_of}, snapshot dated {snapshot_date} "
        f"(amounts in {report.currency})"
    )
    for warning in report.warnings:
        console.print(f"[yellow]warning: {warning}[/]")
    for assessment in report.assessments:
        console.rule()
        show(render.assessment_view(assessment))
    for skipped in report.skipped:
        console.print(f"[dim]skipped {skipped.regime}: {skipped.reason}[/]")


def write_csv(report: Report) -> None:
    """Component rows, then finding rows; each row says its legal effect and both dates."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(
        [
            "regime",
            "legal_effect",
            "part",
            "depth",
            "component",
            "amount",
            "currency",
            "formula",
            "citation",
            "assessed_as_of",
            "snapshot_as_of",
        ]
    )
    dates = [report.as_of.isoformat(), (report.snapshot_as_of or report.as_of).isoformat()]
    for a in report.assessments:
        parts = [a.requirement, a.funding, *([a.accounting] if a.accounting else [])]
        for part in parts:
            for depth, node in part.walk():
                writer.writerow(
                    [
                        a.regime,
                        a.legal_effect,
                        part.name,
                        depth,
                        node.name,
                        canonical(node.amount),
                        node.currency,
                        node.formula,
                        str(node.citation or ""),
                        *dates,
                    ]
                )
        for f in a.findings:
            row = f.to_dict()
            finding = [f"finding:{f.severity.value}", 0, f.rule, "", "", f.message, row["citation"] or ""]
            writer.writerow([a.regime, row["legal_effect"], *finding, *dates])


@app.command("assess")
def assess_command(
    directory: Annotated[Path, typer.Argument(help="Snapshot folder")],
    regime: Annotated[
        str | None,
        typer.Option(
            "--regime", help="A regime id, or 'all' (default: the regimes of the exchange's jurisdiction)"
        ),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Assess at this date (default: snapshot as_of)")
    ] = None,
    params: Annotated[Path | None, typer.Option("--params", help="Reform file overriding parameters")] = None,
    output: Annotated[AssessFormat, typer.Option("--format", help="table, json or csv")] = AssessFormat.TABLE,
    fail_on_breach: Annotated[
        bool, typer.Option("--fail-on-breach", help="Exit 1 when any breach of law is found")
    ] = False,
    include_proposed: Annotated[
        bool,
        typer.Option(
            "--include-proposed",
            help="With --fail-on-breach, also exit 1 on a proposed rule's projected shortfall",
        ),
    ] = False,
) -> None:
    """What each regime requires, how much is funded, what is breached and what is projected."""
    snapshot = open_snapshot(directory)
    report = run_assessment(snapshot, regime, parse_date(as_of, "--as-of"), params)
    print_report(report, output)
    if fail_on_breach and report.fails(include_proposed):
        raise typer.Exit(1)


@app.command("custody")
def custody_command(
    directory: Annotated[Path, typer.Argument(help="Snapshot folder")],
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json")] = OutputFormat.TABLE,
    fail_on_breach: Annotated[
        bool, typer.Option("--fail-on-breach", help="Exit 1 when any breach is found")
    ] = False,
) -> None:
    """Segregation per asset, hot/cold shares by each regime's method, guarantee crypto."""
    report = custody_report(open_snapshot(directory))
    if output is OutputFormat.JSON:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        console.print(f"[bold]{report.exchange}[/] as of {report.as_of}")
        show(render.custody_view(report))
    if fail_on_breach and report.breached:
        raise typer.Exit(1)
