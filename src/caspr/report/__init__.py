"""Reports for people: one self-contained HTML file (or PDF), in Japanese or English.

``caspr report``, ``caspr incident --report`` and ``caspr distribute --report`` are thin over
:func:`write_snapshot`, :func:`write_incident` and :func:`write_distribution`. Every figure
comes from the library objects the other commands print; this package only lays them out.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

from caspr.report import pdf, summaries
from caspr.report.document import SnapshotReport, build, load_por_root
from caspr.report.i18n import language_for, languages

__all__ = [
    "SnapshotReport",
    "build",
    "check_target",
    "distribution_holds",
    "language_for",
    "languages",
    "load_por_root",
    "write",
    "write_demo",
    "write_demo_form",
    "write_distribution",
    "write_incident",
    "write_snapshot",
]

SUFFIXES = (".html", ".pdf")


def check_target(path: Path, language: str) -> None:
    """Refuse, before any work, an output that is neither .html nor .pdf or a language without a catalogue.

    Raises:
        ValueError: the suffix or the language is not known.
    """
    if path.suffix.lower() not in SUFFIXES:
        msg = f"{path}: the report is written as .html or .pdf, not {path.suffix or 'no suffix'!r}"
        raise ValueError(msg)
    if language not in languages():
        msg = f"no report language {language!r} (known: {', '.join(languages())})"
        raise ValueError(msg)


def write(path: Path, document: str) -> None:
    """Write ``document`` (HTML) to ``path`` as HTML or, for a ``.pdf`` path, as PDF; atomically.

    Raises:
        pdf.NoPdfEngine: a PDF was asked for and no PDF engine is installed.
    """
    data = pdf.render(document) if path.suffix.lower() == ".pdf" else document.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a report is for handing out
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_snapshot(path: Path, report: SnapshotReport, language: str) -> None:
    """The snapshot report (requirements, funding, findings, custody, PoR, stress) to ``path``."""
    check_target(path, language)
    from caspr.report import html  # noqa: PLC0415 - Jinja2 and matplotlib: loaded when a report is written

    write(path, html.render_snapshot(report, language))


def write_incident(path: Path, summary: dict[str, Any], language: str) -> None:
    """An incident compensation plan (``CompensationResult.to_dict()``) to ``path``."""
    check_target(path, language)
    from caspr.report import html  # noqa: PLC0415

    write(path, html.render_summary("incident", summary, language, summaries.incident_context(summary)))


def write_distribution(
    path: Path,
    summary: dict[str, Any],
    holds: dict[str, str],
    language: str,
    payments: list[dict[str, Any]] | None = None,
) -> None:
    """A distribution (its summary.json, holds with their reasons, fiat payments by round) to ``path``."""
    check_target(path, language)
    context = summaries.distribution_context(summary, holds, payments)
    from caspr.report import html  # noqa: PLC0415

    write(path, html.render_summary("distribution", summary, language, context))


def distribution_holds(
    result: Any, snapshot: Any, plan: Any
) -> tuple[dict[str, str], list[dict[str, Any]] | None]:
    """A distribution's holds (account → reason) and, in fiat mode, its payments, from the library.

    In kind: the holds the run recorded. Fiat rounds: the same :func:`hold_reasons` the run
    applied, and every payment's round, status and amount.
    """
    from caspr.distribution.inkind import InKindResult, hold_reasons  # noqa: PLC0415
    from caspr.engine import Engine  # noqa: PLC0415

    if isinstance(result, InKindResult):
        holds = result.holds
        return dict(zip(holds["account_id"].to_pylist(), holds["reason"].to_pylist(), strict=True)), None
    payments = [
        {"round": p.round, "status": p.status, "amount": p.amount, "account_id": p.account_id}
        for p in result.payments
    ]
    return hold_reasons(Engine(snapshot), plan), payments


class Presenter(Protocol):
    """What the demo's presenter offers (caspr.demo.Presenter)."""

    def section(self, title: str, shows: str) -> None:
        """A titled section and one line saying what it shows."""

    def note(self, text: str, style: str | None = None) -> None:
        """One line."""


def write_demo(snapshot: Any, folder: Path, engine: Any, out: Presenter) -> list[Path]:
    """``caspr demo``'s last step: the snapshot report in Japanese and English, with the demo's PoR root.

    A Japanese exchange also gets its quarterly users' property report (:func:`write_demo_form`).
    """
    out.section(
        "11. Reports for people", "the same figures as one self-contained file, in Japanese and English"
    )
    store = folder / f"por-{snapshot.exchange.id}"
    root = load_por_root(store, snapshot) if (store / "root.json").exists() else None
    built = build(snapshot, por_root=root, engine=engine)
    paths = []
    for language in ("ja", "en"):
        path = folder / f"report-{snapshot.exchange.id}-{language}.html"
        write_snapshot(path, built, language)
        out.note(f"report ({language}): {path}")
        paths.append(path)
    if snapshot.exchange.jurisdiction.value == "JP":
        paths += write_demo_form(snapshot, folder, engine, out)
    return paths


def write_demo_form(snapshot: Any, folder: Path, engine: Any, out: Presenter) -> list[Path]:
    """The quarterly users' property report (PSA 63-14(2), Form No. 13) in Japanese, English and CSV."""
    from caspr.report import fsa_quarterly  # noqa: PLC0415

    built = fsa_quarterly.build(snapshot, engine)
    paths = []
    for language, suffix in (("ja", "html"), ("en", "html"), ("ja", "csv")):
        path = folder / f"fsa-quarterly-{snapshot.exchange.id}-{language}.{suffix}"
        fsa_quarterly.write(path, built, language)
        label = "figures, CSV" if suffix == "csv" else language
        out.note(f"FSA quarterly users' property report ({label}): {path}")
        paths.append(path)
    out.note(
        f"  {len(built.not_sourced())} fields a snapshot cannot fill are marked as such; "
        "the layout of Form No. 13 needs a primary check"
    )
    return paths
