"""What a snapshot report shows, gathered from the same library objects the CLI prints.

No rule is decided here: requirements, funding, coverage and findings come from
:func:`caspr.assess.assess`, custody from :func:`caspr.custody.custody_report`, stress from
:func:`caspr.calibration.stress.stress`, the proof-of-liabilities root from ``caspr por
build``'s ``root.json``. This module only collects them and sorts findings for reading.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from caspr.assess import Report, assess
from caspr.citation import Status
from caspr.custody import CustodyReport, custody_report
from caspr.custody.por import FORMAT as POR_FORMAT
from caspr.engine import Engine, Exposure
from caspr.errors import InputError, Problem
from caspr.rules.regime import Finding, Severity
from caspr.snapshot.loader import Snapshot

STRESS_YEARS = 200_000
STRESS_SEED = 1
STRESS_LEVELS = (Decimal("0.99"), Decimal("0.995"))
"""The defaults of ``caspr stress``, so that a report and the command agree."""

GROUPS = ("breach", "projection", "warning", "info")
"""Finding groups in reading order: breaches of law in force, projections of proposed rules, ..."""


def content_hash(folder: Path) -> str:
    """SHA-256 over the snapshot's files (name, then the file's own SHA-256), in name order.

    The same digest the API records for a registered snapshot (``content_hash``), so a
    report can be matched to what was registered.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    """A finding with the regime that raised it (``None``: the custody reconciliation)."""

    regime: str | None
    finding: Finding
    group: str


@dataclass(frozen=True)
class SnapshotReport:
    """Everything a snapshot report shows, as the library computed it."""

    snapshot: Snapshot
    content_hash: str
    assessment: Report
    custody: CustodyReport
    exposure: Exposure
    por: dict[str, Any] | None
    stress: Any | None  # caspr.calibration.stress.StressResult (SciPy imported only when asked for)

    @property
    def findings(self) -> dict[str, list[Entry]]:
        """Every finding once, by group (see :func:`group_of`), in the order the library raised them."""
        groups: dict[str, list[Entry]] = {g: [] for g in GROUPS}
        seen: set[tuple[str, str, str]] = set()
        sources: list[tuple[str | None, Status, tuple[Finding, ...]]] = [
            (a.regime, a.status, a.findings) for a in self.assessment.assessments
        ]
        sources.append((None, Status.IN_FORCE, self.custody.findings))
        for regime, status, findings in sources:
            for finding in findings:
                key = (finding.rule, finding.severity.value, finding.message)
                if key in seen:
                    continue
                seen.add(key)
                group = group_of(finding, status)
                groups[group].append(Entry(regime, finding, group))
        return groups


def group_of(finding: Finding, regime_status: Status) -> str:
    """The group a finding is shown under.

    A proposed rule never reports a breach of law (DESIGN.md, Conventions): whatever it
    finds is shown as a projection, apart from the law in force. A ``projection``
    severity, where the library has one, is a projection too.
    """
    severity = finding.severity.value
    if severity == "projection":
        return "projection"
    proposed = regime_status is Status.PROPOSED or (
        finding.citation is not None and finding.citation.status is Status.PROPOSED
    )
    if proposed and severity in (Severity.BREACH.value, Severity.WARNING.value):
        return "projection"
    return severity if severity in GROUPS else "info"


def load_por_root(path: Path, snapshot: Snapshot) -> dict[str, Any]:
    """The ``root.json`` written by ``caspr por build`` (the file or its folder), for this snapshot.

    Raises:
        InputError: unreadable, not a caspr-por/1 root, or built from another exchange or date.
    """
    file = path / "root.json" if path.is_dir() else path
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError([Problem(str(file), None, None, f"cannot be read as JSON: {exc}")]) from exc
    problems = []
    if not isinstance(document, dict) or document.get("format") != POR_FORMAT:
        problems.append(Problem(str(file), None, "format", f"not a {POR_FORMAT} root document"))
    else:
        exchange, as_of = snapshot.exchange.id, snapshot.exchange.as_of.isoformat()
        if document.get("exchange") != exchange:
            problems.append(
                Problem(str(file), None, "exchange", f"{document.get('exchange')!r} is not {exchange!r}")
            )
        if document.get("as_of") != as_of:
            problems.append(Problem(str(file), None, "as_of", f"{document.get('as_of')!r} is not {as_of!r}"))
    if problems:
        raise InputError(problems)
    return dict(document)


def build(
    snapshot: Snapshot,
    selection: str | None = None,
    as_of: dt.date | None = None,
    overrides: dict[str, dict[str, Decimal]] | None = None,
    overrides_source: str = "--params",
    por_root: dict[str, Any] | None = None,
    stress_years: int | None = STRESS_YEARS,
    stress_seed: int = STRESS_SEED,
    engine: Engine | None = None,
) -> SnapshotReport:
    """Assess, reconcile custody and (unless ``stress_years`` is None) stress ``snapshot``.

    Raises:
        NoRuleInForce: a regime named explicitly has no rule in force.
        KeyError: an unknown regime id.
    """
    engine = engine or Engine(snapshot)
    report = assess(snapshot, selection, as_of, overrides, overrides_source, engine)
    stress = None
    if stress_years is not None:
        from caspr.calibration.model import fit  # noqa: PLC0415 - SciPy: loaded when used
        from caspr.calibration.stress import stress as run_stress  # noqa: PLC0415

        stress = run_stress(snapshot, fit(), stress_years, stress_seed, STRESS_LEVELS)
    return SnapshotReport(
        snapshot,
        content_hash(snapshot.root),
        report,
        custody_report(snapshot, engine),
        engine.exposure(),
        por_root,
        stress,
    )
