"""``caspr validate`` and ``caspr generate``: the snapshot's input contract and synthetic exchanges."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from caspr.cli import render
from caspr.cli.common import FileFormat, OutputFormat, app, console, errors, fail, fail_input, show
from caspr.errors import InputError
from caspr.snapshot.generator import GenerationResult
from caspr.snapshot.generator import generate as generate_snapshot
from caspr.snapshot.loader import load_snapshot
from caspr.snapshot.loader import validate as validate_snapshot
from caspr.snapshot.profiles import PROFILES


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
    show(render.snapshot_summary(snapshot))


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
    check_room(out, accounts, file_format)
    result = generate_with_progress(out, accounts, seed, profile, file_format.value, record_date, hot, force)
    console.print(
        f"wrote [bold]{result.out}[/]: {result.accounts:,} accounts, "
        f"{result.balance_rows:,} balance rows ({profile}, seed {seed}, {file_format.value})"
    )


BYTES_PER_ACCOUNT = {FileFormat.CSV: 200, FileFormat.PARQUET: 64}
"""Upper estimates of a snapshot's size per account (measured: 129 and 41 bytes for jp-large
at 20,000 accounts, with half again as margin for the profiles with more assets)."""


def check_room(out: Path, accounts: int, file_format: FileFormat) -> None:
    """Exit 2 before writing when the snapshot would not fit on the disk that holds ``out``."""
    needed = accounts * BYTES_PER_ACCOUNT[file_format]
    existing = out.absolute()
    while not existing.exists():
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if needed > free:
        fail(
            f"--accounts {accounts:,} would write about {render.size(needed)} of {file_format.value}, "
            f"and {existing} has {render.size(free)} free; choose fewer accounts or another --out"
        )


def generate_with_progress(
    out: Path,
    accounts: int,
    seed: int,
    profile: str,
    fmt: str,
    as_of: dt.date,
    hot: Decimal | None,
    force: bool,
) -> GenerationResult:
    """Generate a snapshot with a progress bar on stderr; a bad profile or folder exits 2."""
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
