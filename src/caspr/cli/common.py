"""What every ``caspr`` command shares: the app, the consoles, output formats and error exits."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import traceback
from collections.abc import Callable
from decimal import Decimal
from enum import IntEnum, StrEnum
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import typer.core
from rich.console import Console, RenderableType

from caspr.errors import InputError
from caspr.snapshot.loader import Snapshot, load_snapshot

app = typer.Typer(
    name="caspr",
    help="Customer-asset protection for crypto-asset exchanges.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"caspr {metadata.version('caspr')}")
        raise typer.Exit(Exit.OK)


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print caspr's version and exit.", is_eager=True, callback=_version),
    ] = False,
) -> None:
    """Options that come before the command."""


def _flag_type_hidden(display: Callable[[Any, Any], str | None]) -> Callable[[Any, Any], str | None]:
    """Typer 0.29 prints ``<bool>`` beside every flag (``--help <bool>``); a flag takes no value."""

    def wrapped(option: Any, ctx: Any) -> str | None:
        return None if option.is_flag else display(option, ctx)

    return wrapped


typer.core.TyperOption.display_type_rich = _flag_type_hidden(  # type: ignore[method-assign,assignment]
    typer.core.TyperOption.display_type_rich
)

console = Console()
if not console.is_terminal:
    console = Console(width=150)  # logs and CI: wide enough for the per-asset tables
errors = Console(stderr=True)


class Exit(IntEnum):
    """caspr's exit codes (the README's table)."""

    OK = 0
    BREACH = 1  # a breach with --fail-on-breach, an invalid proof, a broken audit chain
    INPUT = 2  # bad input or usage: the message names file, line and column
    INTERNAL = 3  # a bug in caspr: the traceback is in a log file
    FLAWED_TREE = 4  # por verify: the balance is in the root, but the exchange's tree is flawed
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


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


def show(renderable: RenderableType) -> None:
    """Print a rendering on stdout, its tables fitted to the terminal without cutting a number."""
    from caspr.cli.render import fit  # noqa: PLC0415 - render imports the domain; common stays light

    console.print(fit(renderable, console.width))


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code`` (no traceback)."""
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def report_problems(error: InputError) -> None:
    """Print every input problem, one a line, then how many."""
    for problem in error.problems:
        errors.print("[red]✗[/] ", end="", highlight=False)
        errors.print(str(problem), highlight=False, markup=False)
    more = " (stopped collecting; fix these and run again)" if error.truncated else ""
    errors.print(f"[bold red]error:[/] {len(error.problems)} problem(s) in the input{more}", highlight=False)


def fail_input(error: InputError) -> NoReturn:
    """Print every input problem, one a line, and exit 2."""
    report_problems(error)
    raise typer.Exit(Exit.INPUT)


def internal_error(error: BaseException) -> int:
    """Say that ``error`` is a bug in caspr, write its traceback to a log file, return exit code 3."""
    text = "".join(traceback.format_exception(error))
    folder = Path(os.environ.get("CASPR_LOG_DIR") or tempfile.gettempdir())
    try:
        handle, name = tempfile.mkstemp(prefix="caspr-crash-", suffix=".log", dir=folder)
        with os.fdopen(handle, "w", encoding="utf-8") as log:
            log.write(text)
        where = f"the traceback is in {name}"
    except OSError:
        where = "the traceback could not be written to a log file:\n" + text
    errors.print("[bold red]internal error:[/] ", end="", highlight=False)
    errors.print(
        f"{type(error).__name__}: {error}\n"
        "This is a bug in caspr, not a problem with your input. Please report it on caspr's "
        f"issue tracker with the command you ran; {where}",
        highlight=False,
        markup=False,
        soft_wrap=True,  # the log's path must stay whole to be copied
    )
    return int(Exit.INTERNAL)


def check_out(out: Path | None, force: bool, option: str = "--out") -> None:
    """Exit 2 before any work if ``out`` is a non-empty folder (or a file) and ``force`` is not set."""
    if out is None:
        return
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        fail(f"{option} {out} exists and is not empty (use --force to replace it)")
    writable_parent(out, option)


def writable_parent(path: Path | None, option: str) -> None:
    """Exit 2 unless the folder that will hold ``path`` exists (checked before anything is written)."""
    if path is None:
        return
    parent = path.absolute().parent
    if not parent.is_dir():
        fail(f"{option} {path}: the folder {parent} does not exist")


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


def read_json(path: Path, *, exact: bool = False) -> Any:
    """A JSON file, or exit 2 naming it.

    ``exact`` reads decimal numbers as ``Decimal`` with their scale kept (never as floats).
    """
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text, parse_float=Decimal) if exact else json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"{path}: cannot be read as JSON: {exc}")
