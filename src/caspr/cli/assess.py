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

CSV_COLUMNS = (
    "regime",
    "part",
    "depth",
    "component",
    "amount",
    "currency",
    "formula",
    "citation",
    "severity",
    "message",
)
"""``assess --format csv``: a row per component of requirement and funding, then a row per
finding (part ``finding``: the rule in ``component``, with its severity and message)."""


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
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for a in report.assessments:
            for part in (a.requirement, a.funding):
                for depth, node in part.walk():
                    writer.writerow(
                        [
                            a.regime,
                            part.name,
                            depth,
                            node.name,
                            canonical(node.amount),
                            node.currency,
                            node.formula,
                            str(node.citation or ""),
                            "",
                            "",
                        ]
                    )
            for finding in a.findings:
                writer.writerow(
                    [
                        a.regime,
                        "finding",
                        "",
                        finding.rule,
                        "",
                        "",
                        "",
                        str(finding.citation or ""),
                        finding.severity.value,
                        finding.message,
                    ]
                )
        return
    console.print(f"[bold]{report.exchange}[/] as of {report.as_of} (amounts in {report.currency})")
    for assessment in report.assessments:
        console.rule()
        show(render.assessment_view(assessment))
    for skipped in report.skipped:
        console.print(f"[dim]skipped {skipped.regime}: {skipped.reason}[/]")


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
        bool, typer.Option("--fail-on-breach", help="Exit 1 when any breach is found")
    ] = False,
) -> None:
    """What each regime requires, how much is funded, and what is breached."""
    snapshot = open_snapshot(directory)
    report = run_assessment(snapshot, regime, parse_date(as_of, "--as-of"), params)
    print_report(report, output)
    if fail_on_breach and report.breached:
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
