"""What every ``caspr`` command shares: the app, the consoles, output formats and error exits.

Exit codes: 0 ran (and, for ``validate``, clean); 1 a breach with ``--fail-on-breach``;
2 bad input or bad usage, always with a message naming file, row and column.
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

from caspr.errors import InputError
from caspr.snapshot.loader import Snapshot, load_snapshot

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


class AssessFormat(StrEnum):
    """Output of ``caspr assess`` (and of other tabular commands)."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


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


def parse_date(text: str | None, option: str) -> dt.date | None:
    """``text`` as a date, or exit 2 naming ``option``."""
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"{option} must be a date YYYY-MM-DD, got {text!r}")


def read_json(path: Path) -> Any:
    """A JSON file, or exit 2 naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"{path}: cannot be read as JSON: {exc}")
