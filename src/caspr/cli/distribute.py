"""``caspr distribute``: an administrator returns segregated assets after a failure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from caspr.cli import render
from caspr.cli.common import (
    OutputFormat,
    app,
    check_out,
    console,
    fail_input,
    open_snapshot,
    show,
    writable_parent,
)
from caspr.cli.report import LangOption, ReportOption, distribution_report, report_language
from caspr.cli.tables import parquet_beside
from caspr.distribution import batches
from caspr.distribution.inkind import InKindResult, distribute_in_kind
from caspr.distribution.output import write_in_kind, write_rounds
from caspr.distribution.plan import Mode, load_plan
from caspr.distribution.rounds import RoundsResult, distribute_rounds
from caspr.distribution.runs import distribution_payouts, plan_scope
from caspr.errors import InputError


@app.command("distribute")
def distribute_command(
    directory: Annotated[Path, typer.Argument(help="Snapshot folder (the record date is its as_of)")],
    out: Annotated[Path, typer.Option("--out", help="Folder for distributions.csv, summary.json, ...")],
    plan_file: Annotated[
        Path | None, typer.Option("--plan", help="Distribution plan (default: Japan's)")
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json")] = OutputFormat.TABLE,
    ledger: Annotated[
        Path | None, typer.Option("--ledger", help="Record payout batches in this ledger")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists")] = False,
    parquet: Annotated[
        bool,
        typer.Option("--parquet", help="Also write each CSV as Parquet with exact DECIMAL amount columns"),
    ] = False,
    report_file: ReportOption = None,
    lang: LangOption = None,
) -> None:
    """Return segregated assets: claims, pools, pro rata in kind or fiat rounds, holds, batches."""
    check_out(out, force)
    writable_parent(ledger, "--ledger")
    snapshot = open_snapshot(directory)
    language = report_language(snapshot, report_file, lang)
    try:
        plan = load_plan(plan_file)
        result: InKindResult | RoundsResult
        if plan.mode is Mode.IN_KIND:
            result = distribute_in_kind(snapshot, plan)
            write_in_kind(out, result, plan.model_dump(mode="json"))
        else:
            result = distribute_rounds(snapshot, plan)
            write_rounds(out, result, plan.model_dump(mode="json"))
    except InputError as error:
        fail_input(error)
    if parquet:
        parquet_beside(out, ["distributions", "payments", "summary"])
    summary = json.loads((out / "summary.json").read_text())
    if ledger is not None:
        recorded = batches.record(
            ledger, distribution_payouts(plan_scope(snapshot, plan), result, plan.successor or "direct")
        )
        summary["ledger"] = {"path": str(ledger), "recorded": recorded.recorded, "already": recorded.already}
    distribution_report(report_file, summary, result, snapshot, plan, language)
    if output is OutputFormat.JSON:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    show(render.distribution_view(summary))
    console.print(f"wrote {out}/distributions.csv and summary.json" + (" (and .parquet)" if parquet else ""))
