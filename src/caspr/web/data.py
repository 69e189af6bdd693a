"""What the pages show, read from the service's store.

For a reform or a run's plan, also the registered snapshot, re-checked against its digest first.

No access decision is made here: the routes of :mod:`caspr.web.pages` decide with
:mod:`caspr.api.access` before calling these functions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from caspr.api import jobs
from caspr.store import models as m

T = TypeVar("T")
SEVERITY_ORDER = ("breach", "projection", "warning", "info")


class Memo:
    """A small bounded cache (least recently used out) for results computed from files."""

    def __init__(self, size: int = 32) -> None:
        self.size, self._rows, self._lock = size, OrderedDict[Hashable, Any](), threading.Lock()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        """The cached value of ``key``, made once."""
        with self._lock:
            if key in self._rows:
                self._rows.move_to_end(key)
                return self._rows[key]  # type: ignore[no-any-return]
        value = make()
        with self._lock:
            self._rows[key] = value
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)
        return value


REFORMS = Memo(64)
RUNS = Memo(8)
CLAIMS = Memo(256)


@dataclass(frozen=True, slots=True)
class Row:
    """One stored assessment with its snapshot's date."""

    assessment_id: int
    snapshot_id: int
    as_of: dt.datetime
    regime: str
    title: str
    status: str
    currency: str
    requirement: Decimal
    funding: Decimal
    coverage: Decimal | None
    breaches: int
    projections: int
    findings: tuple[dict[str, Any], ...]


def _row(a: m.Assessment, as_of: dt.datetime) -> Row:
    doc: dict[str, Any] = dict(a.document)
    findings = tuple(doc.get("findings") or ())
    coverage = doc.get("coverage_ratio")
    return Row(
        a.id,
        a.snapshot_id,
        as_of,
        a.regime,
        str(doc.get("title", a.regime)),
        str(doc.get("status", "")),
        a.currency,
        a.requirement,
        a.funding,
        Decimal(coverage) if coverage is not None else None,
        sum(1 for f in findings if f.get("severity") == "breach"),
        sum(1 for f in findings if f.get("severity") == "projection"),
        findings,
    )


def history(factory: sessionmaker[Session], exchange_id: str) -> list[Row]:
    """Every stored assessment of an exchange, oldest snapshot first (the latest run per snapshot)."""
    with factory() as session:
        pairs = session.execute(
            select(m.Assessment, m.Snapshot.as_of)
            .join(m.Snapshot, m.Snapshot.id == m.Assessment.snapshot_id)
            .where(m.Assessment.exchange_id == exchange_id)
            .order_by(m.Snapshot.as_of, m.Snapshot.id, m.Assessment.id)
        ).all()
    latest: dict[tuple[int, str], Row] = {}
    for assessment, as_of in pairs:
        latest[(assessment.snapshot_id, assessment.regime)] = _row(assessment, as_of)  # a later run replaces
    return list(latest.values())


@dataclass(frozen=True, slots=True)
class Chart:
    """Coverage over time as SVG geometry (display only)."""

    width: int
    height: int
    top: str
    lines: tuple[tuple[str, str, tuple[tuple[str, str, str], ...]], ...]
    """(regime, points attribute, ((x, y, label), ...))."""
    ticks: tuple[tuple[str, str], ...]


def coverage_chart(rows: list[Row]) -> Chart | None:
    """Funding over requirement per regime and snapshot, as SVG polylines (100% drawn as a rule)."""
    dates = sorted({r.as_of for r in rows})
    measured = [r for r in rows if r.coverage is not None]
    if not measured:
        return None
    width, height, pad = 640, 240, 40
    ceiling = max(Decimal(2), *(r.coverage for r in measured if r.coverage is not None))
    x_step = (width - 2 * pad) / max(1, len(dates) - 1)  # float-ok: pixel coordinates, not money
    lines = []
    for regime in sorted({r.regime for r in measured}):
        points = []
        for r in (r for r in measured if r.regime == regime):
            x = pad + dates.index(r.as_of) * x_step  # float-ok: pixels
            y = height - pad - float(r.coverage / ceiling) * (height - 2 * pad)  # type: ignore[operator]  # float-ok: pixels
            points.append((f"{x:.1f}", f"{y:.1f}", f"{r.as_of.date().isoformat()}: {r.coverage}"))
        lines.append((regime, " ".join(f"{x},{y}" for x, y, _ in points), tuple(points)))
    one = height - pad - float(1 / ceiling) * (height - 2 * pad)  # float-ok: pixels
    ticks = tuple((f"{pad + i * x_step:.1f}", d.date().isoformat()) for i, d in enumerate(dates))  # float-ok
    return Chart(width, height, f"{one:.1f}", tuple(lines), ticks)


def latest_findings(rows: list[Row]) -> list[tuple[str, dict[str, Any]]]:
    """The latest snapshot's findings, (regime, finding), breaches first."""
    if not rows:
        return []
    last = max(r.as_of for r in rows)
    found = [(r.regime, f) for r in rows if r.as_of == last for f in r.findings]
    return sorted(found, key=lambda p: SEVERITY_ORDER.index(p[1].get("severity", "info")))


@dataclass(frozen=True, slots=True)
class Reformed:
    """A regime's answer under a reform (or why there is none)."""

    requirement: Decimal | None = None
    funding: Decimal | None = None
    coverage: Decimal | None = None
    breaches: int | None = None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class MarketRow:
    """One exchange and regime in the regulator's market table."""

    exchange_id: str
    name: str
    jurisdiction: str
    latest: Row | None
    reformed: Reformed | None = None

    def key(self, column: str) -> Any:
        """The sort key of ``column`` (missing values last, whatever the direction)."""
        row = self.latest
        values: dict[str, Any] = {
            "exchange": self.exchange_id,
            "jurisdiction": self.jurisdiction,
            "regime": row.regime if row else None,
            "as_of": row.as_of if row else None,
            "requirement": row.requirement if row else None,
            "funding": row.funding if row else None,
            "coverage": row.coverage if row else None,
            "breaches": row.breaches if row else None,
            "reform_requirement": self.reformed.requirement if self.reformed else None,
            "reform_coverage": self.reformed.coverage if self.reformed else None,
        }
        return values.get(column)


SORTABLE = (
    "exchange",
    "jurisdiction",
    "regime",
    "as_of",
    "requirement",
    "funding",
    "coverage",
    "breaches",
    "reform_requirement",
    "reform_coverage",
)


def sort_rows(rows: list[MarketRow], column: str, descending: bool) -> list[MarketRow]:
    """Rows sorted on ``column`` (amounts compared exactly, never across currencies' meaning)."""
    present = [r for r in rows if r.key(column) is not None]
    missing = [r for r in rows if r.key(column) is None]
    present.sort(key=lambda r: (r.key(column), r.exchange_id), reverse=descending)
    return present + missing


def market(factory: sessionmaker[Session], exchange_ids: list[str]) -> list[MarketRow]:
    """Each exchange's latest snapshot's stored assessments (a row per regime)."""
    out: list[MarketRow] = []
    with factory() as session:
        query = select(m.Exchange).where(m.Exchange.id.in_(exchange_ids))
        exchanges = {e.id: e for e in session.scalars(query)}
    for exchange_id in sorted(exchanges):
        exchange = exchanges[exchange_id]
        rows = history(factory, exchange_id)
        if not rows:
            out.append(MarketRow(exchange_id, exchange.name, exchange.jurisdiction, None))
            continue
        last = max(r.snapshot_id for r in rows if r.as_of == max(x.as_of for x in rows))
        for r in rows:
            if r.snapshot_id == last:
                out.append(MarketRow(exchange_id, exchange.name, exchange.jurisdiction, r))
    return out


def parse_reform(text: str) -> dict[str, dict[str, Decimal]]:
    """A reform file's content, validated as ``caspr assess --params`` validates the file.

    Raises:
        caspr.errors.InputError: not a reform file; the problems name the reform's keys.
    """
    from caspr.params import load_overrides  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reform.yaml"
        path.write_text(text, encoding="utf-8")
        return load_overrides(path)


def reform_digest(overrides: dict[str, dict[str, Decimal]]) -> str:
    """A reform's identity (for the cache)."""
    text = repr(sorted((r, sorted((k, f"{v:f}") for k, v in p.items())) for r, p in overrides.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def apply_reform(
    factory: sessionmaker[Session], rows: list[MarketRow], overrides: dict[str, dict[str, Decimal]]
) -> list[MarketRow]:
    """Each row beside its regime's answer when the latest snapshot is assessed under the reform."""
    from caspr.api.routes.snapshots import load  # noqa: PLC0415
    from caspr.assess import assess  # noqa: PLC0415

    digest = reform_digest(overrides)
    by_snapshot: dict[int, dict[str, Reformed] | str] = {}
    with factory() as session:
        snapshots = {
            s.id: s
            for s in session.scalars(
                select(m.Snapshot).where(m.Snapshot.id.in_({r.latest.snapshot_id for r in rows if r.latest}))
            )
        }
    for snapshot_id, snapshot in snapshots.items():

        def make(snapshot: m.Snapshot = snapshot) -> dict[str, Reformed] | str:
            try:
                loaded = load(jobs.check_snapshot(snapshot))
                report = assess(loaded, overrides=overrides, overrides_source="reform")
            except jobs.JobFailure as exc:
                return str(exc)
            except Exception as exc:  # a refused snapshot or a reform no rule takes: said, not hidden
                return type(exc).__name__
            return {
                a.regime: Reformed(
                    a.requirement.amount, a.funding.amount, a.coverage_ratio, len(a.breaches), None
                )
                for a in report.assessments
            }

        by_snapshot[snapshot_id] = REFORMS.get((snapshot.content_hash, digest), make)
    out = []
    for row in rows:
        if row.latest is None:
            out.append(row)
            continue
        answer = by_snapshot.get(row.latest.snapshot_id, "missing")
        if isinstance(answer, str):
            reformed = Reformed(problem=answer)
        else:
            reformed = answer.get(row.latest.regime, Reformed(problem="not assessed under the reform"))
        out.append(MarketRow(row.exchange_id, row.name, row.jurisdiction, row.latest, reformed))
    return out


@dataclass(slots=True)
class Cell:
    """Planned and recorded payouts of one round and asset (amounts exact)."""

    planned: int = 0
    planned_amount: Decimal = Decimal(0)
    recorded: int = 0
    recorded_amount: Decimal = Decimal(0)


@dataclass(slots=True)
class RunView:
    """A distribution or incident job with its progress by round and asset."""

    job: m.Job
    as_of: dt.datetime | None
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    by_asset: dict[str, Cell] = field(default_factory=dict)
    problem: str | None = None

    @property
    def running(self) -> bool:
        """Whether the job is still recording payouts."""
        return self.job.status == "running"


def _jobs(session: Session, exchange_id: str) -> list[tuple[m.Job, m.Snapshot]]:
    """The exchange's jobs with their snapshots, newest first."""
    query = (
        select(m.Job, m.Snapshot)
        .join(m.Snapshot, m.Snapshot.id == m.Job.snapshot_id)
        .where(m.Job.exchange_id == exchange_id)
        .order_by(m.Job.id.desc())
    )
    return [(job, snapshot) for job, snapshot in session.execute(query).all()]


def runs(factory: sessionmaker[Session], exchange_id: str) -> list[RunView]:
    """The exchange's jobs, newest first, each with planned against recorded payouts.

    The recorded side is the payout ledger (the ``payouts`` table, by run). The planned side,
    by round, is the job's own plan recomputed from its registered snapshot by the function
    the job itself runs (:func:`caspr.api.jobs.planned`), after the snapshot's digest is
    checked again; it is cached per job and snapshot.
    """
    with factory() as session:
        pairs = _jobs(session, exchange_id)
        recorded: dict[str, dict[str, tuple[str, Decimal]]] = {}
        for p in session.scalars(select(m.Payout).where(m.Payout.exchange_id == exchange_id)):
            recorded.setdefault(p.run_id, {})[p.payout_id] = (p.asset, p.amount)
    out = []
    for job, snapshot in pairs:
        view = RunView(job, snapshot.as_of)
        ledger = recorded.get(job.run_id, {})
        for asset, amount in ledger.values():
            cell = view.by_asset.setdefault(asset, Cell())
            cell.recorded += 1
            cell.recorded_amount += amount

        def make(job: m.Job = job, snapshot: m.Snapshot = snapshot) -> list[Any] | str:
            try:
                return jobs.planned(job, snapshot)[0]
            except jobs.JobFailure as exc:
                return str(exc)
            except Exception as exc:  # said on the page, never hidden
                return type(exc).__name__

        plan = RUNS.get((job.id, snapshot.content_hash), make)
        if isinstance(plan, str):
            view.problem = plan
        else:
            for p in plan:
                cell = view.cells.setdefault((p.round, p.asset), Cell())
                cell.planned += 1
                cell.planned_amount += p.amount
                view.by_asset.setdefault(p.asset, Cell())
                view.by_asset[p.asset].planned += 1
                view.by_asset[p.asset].planned_amount += p.amount
                if p.payout_id in ledger:
                    cell.recorded += 1
                    cell.recorded_amount += p.amount
        out.append(view)
    return out


@dataclass(frozen=True, slots=True)
class Claim:
    """A customer's balances at a run's record date (the claim a distribution pays against)."""

    job_id: int
    kind: str
    run_id: str
    status: str
    as_of: dt.datetime
    balances: tuple[tuple[str, Decimal], ...]
    problem: str | None = None


def claims(factory: sessionmaker[Session], exchange_id: str, account_id: str) -> list[Claim]:
    """The account's claim in each run of its exchange: its balances in the run's snapshot."""
    from caspr.api.routes.snapshots import load  # noqa: PLC0415
    from caspr.engine import Engine  # noqa: PLC0415

    with factory() as session:
        pairs = _jobs(session, exchange_id)
    out = []
    for job, snapshot in pairs:

        def make(snapshot: m.Snapshot = snapshot) -> tuple[tuple[str, Decimal], ...] | str:
            try:
                engine = Engine(load(jobs.check_snapshot(snapshot)))
            except jobs.JobFailure as exc:
                return str(exc)
            except Exception as exc:  # said on the page, never hidden
                return type(exc).__name__
            b = engine.table("balances")
            rows = b.filter(b.account_id == account_id).order_by("asset").to_pyarrow().to_pylist()
            return tuple((str(r["asset"]), Decimal(r["amount"])) for r in rows)

        found = CLAIMS.get((snapshot.content_hash, account_id), make)
        if isinstance(found, str):
            out.append(Claim(job.id, job.kind, job.run_id, job.status, snapshot.as_of, (), found))
        else:
            out.append(Claim(job.id, job.kind, job.run_id, job.status, snapshot.as_of, found))
    return out
