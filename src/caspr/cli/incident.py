"""``caspr incident``: compensate customers after a hack or loss."""

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
    fail_input,
    open_snapshot,
    show,
    writable_parent,
)
from caspr.cli.report import LangOption, ReportOption, incident_report, report_language
from caspr.cli.tables import parquet_beside
from caspr.compensation import compensate
from caspr.compensation.incident import load_incident
from caspr.compensation.output import write as write_compensation
from caspr.distribution import batches
from caspr.distribution.runs import incident_payouts
from caspr.errors import InputError


@app.command("incident")
def incident_command(
    directory: Annotated[Path, typer.Argument(help="Snapshot folder (the exchange before the incident)")],
    incident_file: Annotated[Path, typer.Option("--incident", help="Incident file (YAML)")],
    out: Annotated[Path | None, typer.Option("--out", help="Folder for payouts.csv and summary.json")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json")] = OutputFormat.TABLE,
    ledger: Annotated[Path | None, typer.Option("--ledger", help="Record the payouts in this ledger")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists")] = False,
    parquet: Annotated[
        bool,
        typer.Option("--parquet", help="Also write each CSV as Parquet with exact DECIMAL amount columns"),
    ] = False,
    report_file: ReportOption = None,
    lang: LangOption = None,
) -> None:
    """Who lost what, the reserve → insurance → capital → loans waterfall, and the payout plan."""
    check_out(out, force)
    writable_parent(ledger, "--ledger")
    snapshot = open_snapshot(directory)
    language = report_language(snapshot, report_file, lang)
    try:
        result = compensate(snapshot, load_incident(incident_file))
    except InputError as error:
        fail_input(error)
    if out is not None:
        write_compensation(out, result)
        if parquet:
            parquet_beside(out, ["payouts"])
    summary = result.to_dict()
    if ledger is not None:
        recorded = batches.record(ledger, incident_payouts(result))
        summary["ledger"] = {"path": str(ledger), "recorded": recorded.recorded, "already": recorded.already}
    incident_report(report_file, summary, language)
    if output is OutputFormat.JSON:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    show(render.compensation_view(summary))
