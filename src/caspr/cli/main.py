"""The ``caspr`` command line: thin over the library (no rule lives here).

Exit codes: 0 ran (and, for ``validate``, clean); 1 a breach with ``--fail-on-breach``;
2 bad input or bad usage, always with a message naming file, row and column.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from caspr.assess import Report, assess
from caspr.cli import render
from caspr.compensation import CompensationResult, compensate
from caspr.compensation.incident import Incident, load_incident
from caspr.compensation.output import write as write_compensation
from caspr.custody import custody_report, por, published
from caspr.distribution import batches
from caspr.distribution.inkind import InKindResult, distribute_in_kind
from caspr.distribution.output import write_in_kind, write_rounds
from caspr.distribution.plan import Mode, Plan, load_plan
from caspr.distribution.rounds import RoundsResult, distribute_rounds
from caspr.engine import Engine
from caspr.errors import CasprError, InputError, NoRuleInForce
from caspr.money import canonical, quantize
from caspr.params import load_overrides
from caspr.rules import REGIMES
from caspr.snapshot.generator import GenerationResult
from caspr.snapshot.generator import generate as generate_snapshot
from caspr.snapshot.loader import Snapshot, load_snapshot
from caspr.snapshot.loader import validate as validate_snapshot
from caspr.snapshot.profiles import PROFILES

app = typer.Typer(
    name="caspr",
    help="Customer-asset protection for crypto-asset exchanges.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
if not console.is_terminal:
    console = Console(width=150)  # logs and CI: wide enough for the per-asset tables
errors = Console(stderr=True)


class OutputFormat(StrEnum):
    """How a command prints its result."""

    TABLE = "table"
    JSON = "json"


class FileFormat(StrEnum):
    """Table file format of a snapshot."""

    CSV = "csv"
    PARQUET = "parquet"


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code`` (no traceback)."""
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def fail_input(error: InputError) -> NoReturn:
    """Print every input problem, one a line, and exit 2."""
    for problem in error.problems:
        errors.print(f"[red]✗[/] {problem}", highlight=False, markup=True)
    more = " (stopped collecting; fix these and run again)" if error.truncated else ""
    fail(f"{len(error.problems)} problem(s) in the input{more}")


def open_snapshot(path: Path) -> Snapshot:
    """Load and validate a snapshot, or exit 2 naming every problem."""
    try:
        return load_snapshot(path)
    except InputError as error:
        fail_input(error)


@app.command()
def validate(
    directory: Annotated[Path, typer.Argument(help="Snapshot folder")],
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json")] = OutputFormat.TABLE,
) -> None:
    """Check a snapshot folder against the input contract; write nothing."""
    problems = validate_snapshot(directory)
    if problems:
        if output is OutputFormat.JSON:
            print(
                json.dumps(
                    {
                        "valid": False,
                        "problems": [
                            {"file": p.file, "row": p.row, "column": p.column, "message": p.message}
                            for p in problems
                        ],
                    },
                    indent=2,
                )
            )
            raise typer.Exit(2)
        fail_input(InputError(problems))
    snapshot = load_snapshot(directory)
    if output is OutputFormat.JSON:
        print(json.dumps({"valid": True, "rows": {n: t.rows for n, t in snapshot.tables.items()}}))
        return
    console.print(render.snapshot_summary(snapshot))


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write (must not exist, or --force)")],
    accounts: Annotated[int, typer.Option("--accounts", min=1, help="Number of customer accounts")] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same bytes")] = 1,
    profile: Annotated[str, typer.Option("--profile", help=f"One of: {', '.join(PROFILES)}")] = "jp-large",
    file_format: Annotated[FileFormat, typer.Option("--format", help="csv or parquet")] = FileFormat.CSV,
    as_of: Annotated[str, typer.Option("--as-of", help="Record date, YYYY-MM-DD")] = "2026-09-30",
    hot_share: Annotated[
        str | None,
        typer.Option(
            "--hot-share", help="Override the customer hot-wallet share, e.g. 0.08 to break Japan's 5% cap"
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists")] = False,
) -> None:
    """Write a realistic synthetic exchange snapshot (seeded, streamed)."""
    try:
        record_date = dt.date.fromisoformat(as_of)
        hot = Decimal(hot_share) if hot_share is not None else None
    except (ValueError, ArithmeticError):
        fail(f"--as-of must be YYYY-MM-DD and --hot-share a decimal, got {as_of!r}, {hot_share!r}")
    result = _generate_with_progress(out, accounts, seed, profile, file_format.value, record_date, hot, force)
    console.print(
        f"wrote [bold]{result.out}[/]: {result.accounts:,} accounts, "
        f"{result.balance_rows:,} balance rows ({profile}, seed {seed}, {file_format.value})"
    )


def _generate_with_progress(
    out: Path,
    accounts: int,
    seed: int,
    profile: str,
    fmt: str,
    as_of: dt.date,
    hot: Decimal | None,
    force: bool,
) -> GenerationResult:
    columns = (TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=errors, transient=True) as progress:
        task = progress.add_task("accounts", total=accounts)
        try:
            return generate_snapshot(
                out,
                accounts,
                seed,
                profile,
                fmt,
                as_of,
                hot,
                force,
                progress=lambda n: progress.advance(task, n),
            )
        except ValueError as exc:
            fail(str(exc))


class AssessFormat(StrEnum):
    """Output of ``caspr assess``."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def _parse_date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"{option} must be a date YYYY-MM-DD, got {text!r}")


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
        writer.writerow(["regime", "part", "depth", "component", "amount", "currency", "formula", "citation"])
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
                        ]
                    )
        return
    console.print(f"[bold]{report.exchange}[/] as of {report.as_of} (amounts in {report.currency})")
    for assessment in report.assessments:
        console.rule()
        console.print(render.assessment_view(assessment))
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
    report = run_assessment(snapshot, regime, _parse_date(as_of, "--as-of"), params)
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
        console.print(render.custody_view(report))
    if fail_on_breach and report.breached:
        raise typer.Exit(1)


por_app = typer.Typer(
    help="Proof of liabilities: build, hand out and verify inclusion proofs.", no_args_is_help=True
)
app.add_typer(por_app, name="por")


class ProofFormat(StrEnum):
    """Formats ``caspr por verify`` reads."""

    CASPR = "caspr"
    OKX_V1 = "okx-v1"
    OKX_V2 = "okx-v2"
    BITGET = "bitget"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"{path}: cannot be read as JSON: {exc}")


@por_app.command("build")
def por_build(
    directory: Annotated[Path, typer.Argument(help="Snapshot folder")],
    out: Annotated[Path, typer.Option("--out", help="Folder for root.json and the proof store")],
    audit_id: Annotated[
        str | None, typer.Option("--audit-id", help="Audit id (default: exchange/as_of/random)")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists")] = False,
) -> None:
    """Build the Merkle sum tree over every customer's balances and store every proof."""
    try:
        por.check_out(out, force)
        seconds = []
        with console.status("validating the snapshot…"):
            start = time.perf_counter()
            snapshot = open_snapshot(directory)
            seconds.append(time.perf_counter() - start)
        with console.status("reading every customer's balances…"):
            start = time.perf_counter()
            ledger = por.read(snapshot)
            seconds.append(time.perf_counter() - start)
        with console.status(f"hashing {len(ledger.ids):,} customers and writing their proofs…"):
            start = time.perf_counter()
            result = por.build_tree(ledger, out, audit_id=audit_id)
            seconds.append(time.perf_counter() - start)
    except (ValueError, OverflowError) as exc:
        fail(str(exc))
    root = result.root
    console.print(
        f"wrote [bold]{out}/root.json[/]: root {root['root']['hash']}, height {root['height']}, "
        f"{result.customers:,} customers, {result.hashes:,} hashes ({result.kernels}); "
        f"validated in {seconds[0]:.1f} s, read in {seconds[1]:.1f} s, tree and proofs in {seconds[2]:.1f} s"
    )
    for row in root["solvency"]:
        mark = "[green]solvent[/]" if row["solvent"] else "[bold red]NOT solvent[/]"
        console.print(
            f"  {row['asset']}: liabilities {row['liabilities']}, customer holdings "
            f"{row['customer_holdings']} — {mark}"
        )


@por_app.command("proof")
def por_proof(
    out: Annotated[Path, typer.Argument(help="Folder written by 'caspr por build'")],
    account: Annotated[str, typer.Option("--account", help="The customer's account id")],
) -> None:
    """Print one customer's inclusion proof as JSON, ready to hand to that customer."""
    try:
        document = por.proof(out, account)
    except KeyError:
        fail(f"account {account!r} is not in the tree at {out}")
    except OSError as exc:
        fail(f"{out}: not a proof store ({exc})")
    print(json.dumps(document, indent=2, ensure_ascii=False))


@por_app.command("verify")
def por_verify(
    files: Annotated[list[Path], typer.Argument(help="Proof file (okx-v2: tree file, then user info file)")],
    root: Annotated[
        str | None, typer.Option("--root", help="Published root: root.json path or root hash")
    ] = None,
    proof_format: Annotated[ProofFormat, typer.Option("--format", help="caspr, okx-v1, okx-v2 or bitget")] = (
        ProofFormat.CASPR
    ),
) -> None:
    """Verify an inclusion proof; exit 0 only when it is valid, and say why otherwise."""
    expected = root
    if proof_format is ProofFormat.OKX_V2:
        if len(files) != 2:
            fail("okx-v2 needs two files: the full tree file and the user info file")
        verdict = published.verify_okx_v2(
            files[0].read_text(encoding="utf-8"), _read_json(files[1]), expected
        )
    elif len(files) != 1:
        fail(f"{proof_format.value} takes exactly one proof file")
    elif proof_format is ProofFormat.OKX_V1:
        verdict = published.verify_okx_v1(_read_json(files[0]), expected)
    elif proof_format is ProofFormat.BITGET:
        verdict = published.verify_bitget(_read_json(files[0]), expected)
    else:
        published_root = _read_json(Path(root)) if root else None
        verdict = por.verify(_read_json(files[0]), published_root)
    _print_verdict(verdict)
    if not verdict.valid:
        raise typer.Exit(1)


def _print_verdict(verdict: por.Verdict) -> None:
    console.print("[bold green]VALID[/]" if verdict.valid else "[bold red]INVALID[/]")
    for reason in verdict.reasons:
        console.print(f"  [red]✗[/] {reason}")
    for item in verdict.checked:
        console.print(f"  checked: {item}")
    for item in verdict.not_checked:
        console.print(f"  [yellow]not checked:[/] {item}")
    for item in verdict.weaknesses:
        console.print(f"  [yellow]weakness of the format:[/] {item}")


def _plan_run_id(snapshot: Snapshot, plan: Plan) -> str:
    """Same snapshot and plan, same run id: a rerun records the same payout ids."""
    text = json.dumps(
        [snapshot.exchange.id, snapshot.exchange.as_of.isoformat(), plan.model_dump(mode="json")],
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _payouts(run_id: str, result: InKindResult | RoundsResult, channel: str) -> Iterator[batches.Payout]:
    if isinstance(result, InKindResult):
        rows = result.rows
        for account, asset, amount, held in zip(
            rows["account_id"].to_pylist(),
            rows["asset"].to_pylist(),
            rows["distributed_amount"].to_pylist(),
            rows["held"].to_pylist(),
            strict=True,
        ):
            if not held and Decimal(amount) > 0:
                yield batches.Payout(run_id, account, asset, amount, "in_kind", "in_kind", channel)
        return
    for p in result.payments:
        if p.status == "paid":
            yield batches.Payout(
                run_id, p.account_id, p.payout_asset, canonical(p.payout_amount), p.round, p.track, channel
            )


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
) -> None:
    """Return segregated assets: claims, pools, pro rata in kind or fiat rounds, holds, batches."""
    snapshot = open_snapshot(directory)
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
    summary = json.loads((out / "summary.json").read_text())
    if ledger is not None:
        recorded = batches.record(
            ledger, _payouts(_plan_run_id(snapshot, plan), result, plan.successor or "direct")
        )
        summary["ledger"] = {"path": str(ledger), "recorded": recorded.recorded, "already": recorded.already}
    if output is OutputFormat.JSON:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    console.print(render.distribution_view(summary))
    console.print(f"wrote {out}/distributions.csv and summary.json")


def _incident_payouts(result: CompensationResult) -> Iterator[batches.Payout]:
    table = result.payouts
    for payout_id, account, asset, amount in zip(
        table["payout_id"].to_pylist(),
        table["account_id"].to_pylist(),
        table["compensation_asset"].to_pylist(),
        table["compensation_amount"].to_pylist(),
        strict=True,
    ):
        if Decimal(amount) > 0:
            yield batches.Payout(
                result.incident.id, account, asset, amount, payout_id, "compensation", "direct"
            )


@app.command("incident")
def incident_command(
    directory: Annotated[Path, typer.Argument(help="Snapshot folder (the exchange before the incident)")],
    incident_file: Annotated[Path, typer.Option("--incident", help="Incident file (YAML)")],
    out: Annotated[Path | None, typer.Option("--out", help="Folder for payouts.csv and summary.json")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json")] = OutputFormat.TABLE,
    ledger: Annotated[Path | None, typer.Option("--ledger", help="Record the payouts in this ledger")] = None,
) -> None:
    """Who lost what, the reserve → insurance → capital → loans waterfall, and the payout plan."""
    snapshot = open_snapshot(directory)
    try:
        result = compensate(snapshot, load_incident(incident_file))
    except InputError as error:
        fail_input(error)
    if out is not None:
        write_compensation(out, result)
    summary = result.to_dict()
    if ledger is not None:
        recorded = batches.record(ledger, _incident_payouts(result))
        summary["ledger"] = {"path": str(ledger), "recorded": recorded.recorded, "already": recorded.already}
    if output is OutputFormat.JSON:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    console.print(render.compensation_view(summary))


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

    rows = [r.to_dict() for r in incident_library.select(jurisdiction, kind, custody_only)]
    if output is AssessFormat.JSON:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif output is AssessFormat.CSV:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["id"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        console.print(render.incidents_table(rows))


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
    years: Annotated[int, typer.Option("--years", min=1000, help="Simulated exchange-years")] = 200_000,
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
    from caspr.calibration.stress import plot as stress_plot  # noqa: PLC0415
    from caspr.calibration.stress import stress as stress_run  # noqa: PLC0415

    snapshot = open_snapshot(directory)
    model = fit_model()
    result = stress_run(snapshot, model, years, seed, _levels(levels), negative_binomial)
    if plot_file is not None:
        stress_plot(result, plot_file)
    document = {**result.to_dict(), "model": model.to_dict()}
    if output is OutputFormat.JSON:
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return
    console.print(render.stress_view(document))
    if plot_file is not None:
        console.print(f"wrote {plot_file}")


@app.command("backtest")
def backtest_command(
    regime: Annotated[
        str, typer.Option("--regime", help="A regime with a requirement")
    ] = "jp-crypto-reserve",
    params: Annotated[Path | None, typer.Option("--params", help="Reform file overriding parameters")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json")] = OutputFormat.TABLE,
) -> None:
    """What the regime would have required of each historical exchange, and whether it covered the loss."""
    from caspr.calibration.backtest import backtest as run_backtest  # noqa: PLC0415

    if regime not in REGIMES:
        fail(f"unknown regime {regime!r} (known: {', '.join(REGIMES)})")
    try:
        overrides = load_overrides(params).get(regime) if params else None
        result = run_backtest(regime, overrides)
    except InputError as error:
        fail_input(error)
    except NoRuleInForce as error:
        fail(str(error))
    if output is OutputFormat.JSON:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    console.print(render.backtest_view(result.to_dict()))


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
    console.print(render.calibration_view(result.to_dict()))


keys_app = typer.Typer(help="API keys for the service.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
db_app = typer.Typer(help="The database (SQLite by default, PostgreSQL by URL).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: CASPR_DATABASE_URL or sqlite:///caspr.sqlite)"),
]


@app.command("serve")
def serve_command(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
) -> None:
    """Run the REST API (/api/v1; OpenAPI at /api/v1/openapi.json)."""
    import uvicorn  # noqa: PLC0415 - only the server needs it

    from caspr.api.app import create_app  # noqa: PLC0415

    uvicorn.run(create_app(db), host=host, port=port, log_level="warning")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option("--role", help="exchange, regulator, administrator or customer")],
    exchange: Annotated[
        str | None, typer.Option("--exchange", help="Exchange id (all roles but regulator)")
    ] = None,
    account: Annotated[str | None, typer.Option("--account", help="Account id (customer)")] = None,
    db: DbOption = None,
) -> None:
    """Create an API key; it is printed once and stored only as its hash."""
    import secrets  # noqa: PLC0415

    from caspr.api.app import ROLES, hash_key  # noqa: PLC0415
    from caspr.store import audit, make_engine, sessions, transaction, upgrade  # noqa: PLC0415
    from caspr.store.models import ApiKey  # noqa: PLC0415

    if role not in ROLES:
        fail(f"--role must be one of {', '.join(ROLES)}")
    if role != "regulator" and not exchange:
        fail(f"a {role} key needs --exchange")
    if role == "customer" and not account:
        fail("a customer key needs --account")
    engine = make_engine(db)
    upgrade(engine)
    key = "caspr_" + secrets.token_urlsafe(32)
    with transaction(sessions(engine)) as session:
        session.add(ApiKey(key_hash=hash_key(key), role=role, exchange_id=exchange, account_id=account))
        audit(session, "cli", "keys.create", {"role": role, "exchange": exchange, "account": account})
    print(key)


@audit_app.command("verify")
def audit_verify(db: DbOption = None) -> None:
    """Recompute the audit chain; name the first altered, removed or reordered entry (exit 1)."""
    from caspr.store import make_engine, sessions, upgrade, verify_audit  # noqa: PLC0415

    engine = make_engine(db)
    upgrade(engine)
    with sessions(engine)() as session:
        verdict = verify_audit(session)
    if verdict.valid:
        console.print(f"audit log intact: {verdict.entries} entries")
        return
    console.print(f"[bold red]audit log broken[/] at entry {verdict.first_bad}: {verdict.reason}")
    raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Apply the migrations."""
    from caspr.store import make_engine, upgrade  # noqa: PLC0415

    upgrade(make_engine(db))
    console.print("database at the latest migration")


def _cache_dir() -> Path:
    base = os.environ.get("CASPR_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "caspr")
    return Path(base)


DEMO_PEERS = (("eu-casp", 40_000), ("hk-vatp", 40_000), ("kr-krw", 40_000))
"""Smaller exchanges the demo also assesses, so that every regime is shown on its own market."""


def _demo_snapshot(cache: Path, profile: str, accounts: int, seed: int) -> Snapshot:
    folder = cache / f"demo-{profile}-{accounts}-{seed}"
    if not (folder / "exchange.yaml").exists():
        _generate_with_progress(folder, accounts, seed, profile, "parquet", dt.date(2026, 9, 30), None, True)
    else:
        console.print(f"reusing cached demo exchange at {folder}")
    return open_snapshot(folder)


def _demo_por(snapshot: Snapshot, folder: Path) -> None:
    out = folder / f"por-{snapshot.exchange.id}"
    result = por.build(snapshot, out, force=True)
    root = result.root
    console.print(
        f"root {root['root']['hash']} over {result.customers:,} customers (height {root['height']}); "
        f"solvent in every asset: {root['solvent_every_asset']}"
    )
    account = por.Store(out).account_id(0)
    verdict = por.verify(por.proof(out, account), root)
    console.print(
        f"proof for customer {account}: {'VALID' if verdict.valid else 'INVALID'} "
        f"({len(verdict.checked)} checks against the published root)"
    )


def _demo_service(folder: Path, snapshot: Snapshot) -> None:
    import secrets  # noqa: PLC0415

    from fastapi.testclient import TestClient  # noqa: PLC0415

    from caspr.api.app import create_app, hash_key  # noqa: PLC0415
    from caspr.store import make_engine, sessions, transaction, verify_audit  # noqa: PLC0415
    from caspr.store.models import ApiKey  # noqa: PLC0415

    url = f"sqlite:///{folder / 'service.sqlite'}"
    app = create_app(url)
    keys = {}
    engine = make_engine(url)
    for role, account in (("administrator", None), ("customer", "A00000002"), ("regulator", None)):
        keys[role] = "caspr_" + secrets.token_urlsafe(16)
        with transaction(sessions(engine)) as session:
            session.add(
                ApiKey(
                    key_hash=hash_key(keys[role]),
                    role=role,
                    account_id=account,
                    exchange_id=None if role == "regulator" else snapshot.exchange.id,
                )
            )
    tag = secrets.token_hex(3)

    def auth(role: str, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {keys[role]}", **({"Idempotency-Key": key} if key else {})}

    with TestClient(app) as client:
        registered = client.post(
            "/api/v1/snapshots", json={"path": str(snapshot.root)}, headers=auth("administrator", f"s-{tag}")
        ).json()
        payout = {
            "exchange_id": snapshot.exchange.id,
            "run_id": f"demo-{tag}",
            "account_id": "A00000002",
            "asset": "BTC",
            "amount": "0.01954527",
        }
        first = client.post("/api/v1/payouts", json=payout, headers=auth("administrator", f"p-{tag}"))
        replay = client.post("/api/v1/payouts", json=payout, headers=auth("administrator", f"p-{tag}"))
        changed = client.post(
            "/api/v1/payouts", json={**payout, "amount": "1"}, headers=auth("administrator", f"p-{tag}")
        )
        mine = client.get("/api/v1/payouts", headers=auth("customer")).json()
        other = client.get("/api/v1/payouts/does-not-exist", headers=auth("customer"))
    with sessions(engine)() as session:
        verdict = verify_audit(session)
    console.print(
        f"snapshot {registered['id']} registered; payout {first.status_code}, replay {replay.status_code} "
        f"(same body: {first.json() == replay.json()}), same key with another body {changed.status_code}"
    )
    console.print(
        f"customer A00000002 sees {len(mine)} payout(s) of its own; another id: {other.status_code}; "
        f"audit chain: {'intact' if verdict.valid else 'BROKEN'} ({verdict.entries} entries)"
    )
    console.print("run it for real: caspr serve --db URL; OpenAPI at /api/v1/openapi.json")


def _demo_calibration(snapshot: Snapshot, folder: Path) -> None:
    from caspr.calibration.backtest import backtest as run_backtest  # noqa: PLC0415
    from caspr.calibration.backtest import calibrate as run_calibration  # noqa: PLC0415
    from caspr.calibration.model import fit as fit_model  # noqa: PLC0415 - SciPy: loaded when used
    from caspr.calibration.stress import plot as stress_plot  # noqa: PLC0415
    from caspr.calibration.stress import stress as stress_run  # noqa: PLC0415

    model = fit_model()
    result = stress_run(snapshot, model, 200_000, 2026, (Decimal("0.99"), Decimal("0.995")))
    plot = folder / f"stress-{snapshot.exchange.id}.png"
    stress_plot(result, plot)
    console.print(render.stress_view({**result.to_dict(), "model": model.to_dict()}))
    console.print(f"exceedance curve: {plot}")
    console.print(render.backtest_view(run_backtest().to_dict()))
    console.print(render.calibration_view(run_calibration(Decimal("0.5")).to_dict()))


def _demo_incident(snapshot: Snapshot, folder: Path, engine: Engine) -> None:
    wallets = engine.table("wallets").to_pyarrow().to_pylist()
    cold = next(
        w for w in wallets if w["asset"] == "BTC" and w["storage"] == "cold" and w["owner"] == "customer"
    )
    stolen = quantize(cold["amount"] / 5, 8, "ROUND_FLOOR")
    incident = Incident.model_validate(
        {
            "id": f"demo-{snapshot.exchange.id}-btc-cold",
            "detected_at": "2026-10-01T13:26:00+09:00",
            "kind": "cold_wallet_hack",
            "outflows": [{"wallet": cold["wallet_id"], "asset": "BTC", "amount": f"{stolen:f}"}],
            "compensation": {
                "policy": "make_whole_in_kind",
                "funding": {
                    "company_capital": "5000000000",
                    "loans": [
                        {"lender": "group parent (loan)", "amount": "5000000000"},
                        {"lender": "group parent (capital increase)", "amount": "48000000000"},
                    ],
                },
            },
        }
    )
    result = compensate(snapshot, incident, engine)
    write_compensation(folder / f"incident-{snapshot.exchange.id}", result)
    ledger = folder / f"ledger-{snapshot.exchange.id}.sqlite"
    summary = result.to_dict()
    recorded = batches.record(ledger, _incident_payouts(result))
    summary["ledger"] = {"path": str(ledger), "recorded": recorded.recorded, "already": recorded.already}
    summary["prices"] = {a: p for a, p in summary["prices"].items() if a == "BTC"}
    console.print(render.compensation_view(summary))


def _demo_distribution(snapshot: Snapshot, folder: Path, engine: Engine) -> None:
    btc = next(a for a in engine.exposure().assets if a.asset == "BTC")
    lost = quantize(btc.customer_cold / 4, 8, "ROUND_FLOOR")
    plan = Plan(pool_losses={"BTC": lost}, successor="Synthetic Successor Exchange", de_minimis=Decimal(100))
    console.print(
        f"scenario: a quarter of the customers' cold BTC ({lost} BTC) is missing when the administrator "
        "takes over; KYC-pending and frozen accounts are held; entitlements under ¥100 are not paid"
    )
    result = distribute_in_kind(snapshot, plan, engine)
    out = folder / f"distribution-{snapshot.exchange.id}"
    write_in_kind(out, result, plan.model_dump(mode="json"))
    summary = json.loads((out / "summary.json").read_text())
    ledger = folder / f"ledger-{snapshot.exchange.id}.sqlite"
    run_id = _plan_run_id(snapshot, plan)
    first = batches.record(ledger, _payouts(run_id, result, plan.successor or "direct"))
    again = batches.record(ledger, _payouts(run_id, result, plan.successor or "direct"))
    summary["assets"] = [a for a in summary["assets"] if a["asset"] in ("BTC", "ETH", "XRP", "JPY")]
    console.print(render.distribution_view(summary))
    console.print(
        f"payout ledger: {first.recorded:,} new payouts this run, {first.already:,} already recorded; "
        f"a rerun records {again.recorded:,} (idempotent)"
    )


@app.command()
def demo(
    accounts: Annotated[int, typer.Option("--accounts", min=1)] = 500_000,
    seed: Annotated[int, typer.Option("--seed")] = 2026,
    profile: Annotated[str, typer.Option("--profile")] = "jp-large",
    cache: Annotated[
        Path | None, typer.Option("--cache", help="Cache folder (default ~/.cache/caspr)")
    ] = None,
) -> None:
    """Generate (or reuse) a demo exchange and put it through every capability built so far."""
    folder = cache or _cache_dir()
    console.rule("[bold]1. Validate the snapshot")
    snapshot = _demo_snapshot(folder, profile, accounts, seed)
    console.print(render.snapshot_summary(snapshot))
    console.rule("[bold]2. Exposure")
    engine = Engine(snapshot)
    console.print(render.exposure_table(engine.exposure()))
    console.print(render.volume_table(engine.trailing_volumes(), snapshot.exchange.reporting_currency.value))
    console.rule("[bold]3. Custody and segregation")
    console.print(render.custody_view(custody_report(snapshot, engine)))
    console.rule("[bold]4. Proof of liabilities: build, hand one customer a proof, verify it")
    _demo_por(snapshot, folder)
    console.rule("[bold]5. An incident: a DMM-style cold-wallet compromise, compensated in kind")
    _demo_incident(snapshot, folder, engine)
    console.rule("[bold]6. The exchange fails: the administrator returns segregated assets in kind")
    _demo_distribution(snapshot, folder, engine)
    console.rule("[bold]7. Reserve requirement and funding under the regimes that apply")
    print_report(run_assessment(snapshot, None, None, None, engine), AssessFormat.TABLE)
    console.rule("[bold]8. Is the rule calibrated right? Stress, backtest against history, calibration")
    _demo_calibration(snapshot, folder)
    console.rule("[bold]9. The service: API keys, roles, idempotent payouts, the audit chain")
    _demo_service(folder, snapshot)
    console.rule("[bold]10. Every other regime, each on a synthetic exchange of its own market")
    reports = [
        run_assessment(_demo_snapshot(folder, peer, size, seed), None, None, None)
        for peer, size in DEMO_PEERS
    ]
    console.print(render.report_summary(reports))
    for report in reports:
        for assessment in report.assessments:
            for finding in assessment.breaches:
                console.print(f"[red]breach[/] {report.exchange} {finding.rule}: {finding.message}")


def main() -> None:
    """Entry point that turns caspr's own errors into a message and exit 2."""
    try:
        app()
    except CasprError as exc:
        errors.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
