"""``caspr demo``: render the library's demo (:mod:`caspr.demo`) on the console."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from caspr import demo as library
from caspr.cli import render
from caspr.cli.assess import print_report
from caspr.cli.common import AssessFormat, app, console, errors, fail, fail_input, show
from caspr.demo import View
from caspr.errors import InputError
from caspr.snapshot.profiles import PROFILES

VIEWS: dict[View, Callable[[Any], Any]] = {
    View.SNAPSHOT: render.snapshot_summary,
    View.EXPOSURE: render.exposure_table,
    View.VOLUMES: lambda pair: render.volume_table(*pair),
    View.CUSTODY: render.custody_view,
    View.COMPENSATION: render.compensation_view,
    View.DISTRIBUTION: render.distribution_view,
    View.STRESS: render.stress_view,
    View.BACKTEST: render.backtest_view,
    View.CALIBRATION: render.calibration_view,
    View.REPORT_SUMMARY: render.report_summary,
}


class ConsolePresenter:
    """Prints each demo step with the CLI's renderings.

    On a terminal a spinner with the elapsed time runs while a step computes, so no phase is
    silent.
    """

    def __init__(self) -> None:
        self._spinner: Progress | None = None
        self._label = ""

    def section(self, title: str, shows: str) -> None:
        """A rule with the section's title, then what the section shows."""
        self._stop()
        console.rule(f"[bold]{title}")
        console.print(shows, style="italic", markup=False, highlight=False)
        self._start(title.split(" ", 1)[-1])

    def note(self, text: str, style: str | None = None) -> None:
        """One line, styled if asked."""
        self._stop()
        console.print(render.grouped(text), style=style, markup=False)
        self._start(self._label)

    def show(self, view: View, data: Any) -> None:
        """The rendering of ``view``."""
        self._stop()
        if view is View.REPORT:
            print_report(data, AssessFormat.TABLE)
        else:
            show(VIEWS[view](data))
        self._start(self._label)

    @contextmanager
    def progress(self, label: str, total: int) -> Iterator[Callable[[int], None]]:
        """A transient progress bar on stderr."""
        self._stop()
        columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=errors, transient=True) as bar:
            task = bar.add_task(label, total=total)
            yield lambda n: bar.advance(task, n)
        self._start(self._label)

    def close(self) -> None:
        """Stop the spinner (the demo is over)."""
        self._stop()

    def _start(self, label: str) -> None:
        self._label = label
        if not errors.is_terminal or not label:
            return
        columns = (SpinnerColumn(), TextColumn(f"{label}…"), TimeElapsedColumn())
        self._spinner = Progress(*columns, console=errors, transient=True)
        self._spinner.add_task(label, total=None)
        self._spinner.start()

    def _stop(self) -> None:
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None


@app.command()
def demo(
    accounts: Annotated[
        int,
        typer.Option("--accounts", min=1, help="Size of the main exchange (larger: slower, more realistic)"),
    ] = library.DEFAULT_ACCOUNTS,
    seed: Annotated[int, typer.Option("--seed")] = 2026,
    profile: Annotated[str, typer.Option("--profile")] = "jp-large",
    cache: Annotated[
        Path | None, typer.Option("--cache", help="Cache folder (default ~/.cache/caspr)")
    ] = None,
) -> None:
    """Generate (or reuse) a demo exchange and put it through every capability built so far."""
    if profile not in PROFILES:
        fail(f"unknown profile {profile!r} (known: {', '.join(PROFILES)})")
    settings = library.Settings(accounts, seed, profile, cache or library.cache_dir())
    presenter = ConsolePresenter()
    try:
        library.run(settings, presenter)
    except InputError as error:
        presenter.close()
        fail_input(error)
    finally:
        presenter.close()
