"""``caspr report``: the snapshot report as one self-contained HTML or PDF file, in Japanese or English.

Also the ``--report``/``--lang`` options that ``caspr incident`` and ``caspr distribute`` share.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from caspr.cli.common import app, errors, fail, fail_input, open_snapshot, parse_date, writable_parent
from caspr.errors import InputError, NoRuleInForce
from caspr.params import load_overrides
from caspr.rules import REGIMES
from caspr.snapshot.loader import Snapshot

ReportOption = Annotated[
    Path | None, typer.Option("--report", help="Also write a report for people: FILE.html or FILE.pdf")
]
LangOption = Annotated[
    str | None, typer.Option("--lang", help="ja or en (default: from the exchange's jurisdiction)")
]


def report_language(snapshot: Snapshot, path: Path | None, lang: str | None, option: str = "--report") -> str:
    """The report's language (default from the jurisdiction), checked with the path before any work."""
    from caspr import report  # noqa: PLC0415 - Jinja2 and Babel: loaded when a report is asked for

    language = lang or report.language_for(snapshot.exchange.jurisdiction.value)
    if path is not None:
        writable_parent(path, option)
        try:
            report.check_target(path, language)
        except ValueError as exc:
            fail(str(exc))
        if path.suffix.lower() == ".pdf" and report.pdf.engine() is None:
            fail(report.pdf.NO_ENGINE)
    return language


def written(path: Path, write: Callable[[], None]) -> None:
    """Run ``write`` and say where the report went, or exit 2 when no PDF engine is installed."""
    from caspr.report.pdf import NoPdfEngine  # noqa: PLC0415

    try:
        write()
    except NoPdfEngine as exc:
        fail(str(exc))
    errors.print(f"wrote {path}", highlight=False)  # stderr: stdout may be a JSON document


def incident_report(path: Path | None, summary: dict[str, Any], language: str) -> None:
    """``caspr incident --report``: the compensation plan for people (nothing when no path)."""
    if path is not None:
        from caspr import report  # noqa: PLC0415

        written(path, lambda: report.write_incident(path, summary, language))


def distribution_report(
    path: Path | None, summary: dict[str, Any], result: Any, snapshot: Snapshot, plan: Any, language: str
) -> None:
    """``caspr distribute --report``: recovery, rounds and holds for people (nothing when no path)."""
    if path is not None:
        from caspr import report  # noqa: PLC0415

        holds, payments = report.distribution_holds(result, snapshot, plan)
        written(path, lambda: report.write_distribution(path, summary, holds, language, payments))


def form_report(snapshot: Snapshot, form: str, out: Path, lang: str | None, used: list[str]) -> None:
    """``caspr report --form fsa-quarterly``: the form's figures, checked before any work."""
    from caspr.report import fsa_quarterly, language_for  # noqa: PLC0415

    if form != fsa_quarterly.FORM_ID:
        fail(f"unknown form {form!r} (known: {fsa_quarterly.FORM_ID})")
    if used:
        fail(f"{', '.join(used)}: not used with --form (the form reports the snapshot as it is)")
    language = lang or language_for(snapshot.exchange.jurisdiction.value)
    writable_parent(out, "--out")
    try:
        fsa_quarterly.check_target(out, language)
    except ValueError as exc:
        fail(str(exc))
    from caspr.report import pdf  # noqa: PLC0415

    if out.suffix.lower() == ".pdf" and pdf.engine() is None:
        fail(pdf.NO_ENGINE)
    try:
        built = fsa_quarterly.build(snapshot)
    except NoRuleInForce as error:
        fail(f"no rule in force: {error}")
    written(out, lambda: fsa_quarterly.write(out, built, language))


@app.command("report")
def report_command(
    directory: Annotated[Path, typer.Argument(help="Snapshot folder")],
    out: Annotated[Path, typer.Option("--out", help="FILE.html (self-contained) or FILE.pdf")],
    lang: LangOption = None,
    regime: Annotated[
        str | None,
        typer.Option("--regime", help="A regime id, or 'all' (default: the exchange's jurisdiction)"),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Assess at this date (default: snapshot as_of)")
    ] = None,
    params: Annotated[Path | None, typer.Option("--params", help="Reform file overriding parameters")] = None,
    por_root: Annotated[
        Path | None, typer.Option("--por", help="Folder (or root.json) written by 'caspr por build'")
    ] = None,
    stress_years: Annotated[
        int, typer.Option("--stress-years", min=0, help="Simulated years; 0: no stress")
    ] = (200_000),
    stress_seed: Annotated[int, typer.Option("--stress-seed")] = 1,
    form: Annotated[
        str | None,
        typer.Option(
            "--form",
            help="fsa-quarterly: Japan's quarterly report on users' property (PSA 63-14(2), Ordinance "
            "Art. 38, Form No. 13) as FILE.html, FILE.pdf or FILE.csv",
        ),
    ] = None,
) -> None:
    """Requirements, funding, findings, custody, proof of liabilities and stress: one file for people."""
    from caspr import report  # noqa: PLC0415

    snapshot = open_snapshot(directory)
    if form is not None:
        used = [
            name
            for name, value in (
                ("--regime", regime),
                ("--as-of", as_of),
                ("--params", params),
                ("--por", por_root),
            )
            if value is not None
        ]
        form_report(snapshot, form, out, lang, used)
        return
    language = report_language(snapshot, out, lang, "--out")
    if regime is not None and regime != "all" and regime not in REGIMES:
        fail(f"unknown regime {regime!r} (known: {', '.join(REGIMES)}, all)")
    try:
        overrides = load_overrides(params) if params is not None else None
        root = report.load_por_root(por_root, snapshot) if por_root is not None else None
        built = report.build(
            snapshot,
            regime,
            parse_date(as_of, "--as-of"),
            overrides,
            str(params) if params else "--params",
            root,
            stress_years or None,
            stress_seed,
        )
    except InputError as error:
        fail_input(error)
    except NoRuleInForce as error:
        fail(f"no rule in force: {error}")
    written(out, lambda: report.write_snapshot(out, built, language))
