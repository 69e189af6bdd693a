"""``caspr demo``: render the library's demo (:mod:`caspr.demo`) on the console."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from caspr import demo as library
from caspr.cli import render
from caspr.cli.assess import print_report
from caspr.cli.common import AssessFormat, app, console, errors, fail, fail_input
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
    """Prints each demo step with the CLI's renderings."""

    def section(self, title: str) -> None:
        """A rule with the section's title."""
        console.rule(f"[bold]{title}")

    def note(self, text: str, style: str | None = None) -> None:
        """One line, styled if asked."""
        console.print(text, style=style, markup=False)

    def show(self, view: View, data: Any) -> None:
        """The rendering of ``view``."""
        if view is View.REPORT:
            print_report(data, AssessFormat.TABLE)
            return
        console.print(VIEWS[view](data))

    @contextmanager
    def progress(self, label: str, total: int) -> Iterator[Callable[[int], None]]:
        """A transient progress bar on stderr."""
        columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=errors, transient=True) as bar:
            task = bar.add_task(label, total=total)
            yield lambda n: bar.advance(task, n)


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
    if profile not in PROFILES:
        fail(f"unknown profile {profile!r} (known: {', '.join(PROFILES)})")
    settings = library.Settings(accounts, seed, profile, cache or library.cache_dir())
    try:
        library.run(settings, ConsolePresenter())
    except InputError as error:
        fail_input(error)
