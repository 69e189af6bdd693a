"""Reports for people: one self-contained HTML file (or PDF), in Japanese or English.

``caspr report``, ``caspr incident --report`` and ``caspr distribute --report`` are thin over
:func:`write_snapshot`, :func:`write_incident` and :func:`write_distribution`. Every figure
comes from the library objects the other commands print; this package only lays them out.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from caspr.report import html, pdf, summaries
from caspr.report.document import SnapshotReport, build, load_por_root
from caspr.report.i18n import language_for, languages

__all__ = [
    "SnapshotReport",
    "build",
    "check_target",
    "language_for",
    "languages",
    "load_por_root",
    "write",
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
    write(path, html.render_snapshot(report, language))


def write_incident(path: Path, summary: dict[str, Any], language: str) -> None:
    """An incident compensation plan (``CompensationResult.to_dict()``) to ``path``."""
    check_target(path, language)
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
    write(path, html.render_summary("distribution", summary, language, context))
