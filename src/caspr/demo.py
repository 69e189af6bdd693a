"""The demo: one synthetic exchange put through every capability, section by section.

The orchestration lives here, in the library; how it is shown is the caller's (the
``caspr demo`` command renders each step with :mod:`caspr.cli.render`). Each step reports
to a :class:`Presenter`: a section title, plain notes, and typed results to show.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from caspr.assess import Report, assess
from caspr.compensation import compensate
from caspr.compensation.incident import Incident
from caspr.compensation.output import write as write_compensation
from caspr.custody import custody_report, por
from caspr.distribution import batches
from caspr.distribution.inkind import distribute_in_kind
from caspr.distribution.output import write_in_kind
from caspr.distribution.plan import Plan
from caspr.distribution.runs import distribution_payouts, incident_payouts, plan_scope
from caspr.engine import Engine
from caspr.money import quantize
from caspr.report import write_demo
from caspr.snapshot.generator import generate
from caspr.snapshot.loader import Snapshot, load_snapshot

DEMO_PEERS = (("eu-casp", 20_000), ("hk-vatp", 20_000), ("kr-krw", 20_000))
"""Smaller exchanges the demo also assesses, so that every regime is shown on its own market."""

DEFAULT_ACCOUNTS = 50_000
"""The demo's size: the whole demo in well under a minute on two cores from a cold cache
(measured in docs/benchmarks.md); ``caspr demo --accounts N`` for larger exchanges."""


class View(StrEnum):
    """The kinds of result a demo step hands to its presenter."""

    SNAPSHOT = "snapshot"  # Snapshot
    EXPOSURE = "exposure"  # Exposure
    VOLUMES = "volumes"  # (dict of trailing volumes, reporting currency)
    CUSTODY = "custody"  # CustodyReport
    COMPENSATION = "compensation"  # summary dict
    DISTRIBUTION = "distribution"  # summary dict
    REPORT = "report"  # Report
    STRESS = "stress"  # stress document dict (with the model)
    BACKTEST = "backtest"  # backtest dict
    CALIBRATION = "calibration"  # calibration dict
    REPORT_SUMMARY = "report_summary"  # list of Report


class Presenter(Protocol):
    """Where the demo reports: the CLI prints, a test may collect."""

    def section(self, title: str, shows: str) -> None:
        """A new numbered section begins; ``shows`` says in one line what it shows."""

    def note(self, text: str, style: str | None = None) -> None:
        """One line of plain text (``style`` a hint such as "red")."""

    def show(self, view: View, data: Any) -> None:
        """A result to display."""

    def progress(self, label: str, total: int) -> AbstractContextManager[Callable[[int], None]]:
        """A progress bar for a long phase; the callable advances it by a count."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What the demo runs on: the main exchange's profile, size and seed, and the cache folder."""

    accounts: int
    seed: int
    profile: str
    cache: Path


def cache_dir() -> Path:
    """The demo cache: ``$CASPR_CACHE`` or ``~/.cache/caspr``."""
    base = os.environ.get("CASPR_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "caspr")
    return Path(base)


def snapshot(out: Presenter, cache: Path, profile: str, accounts: int, seed: int) -> Snapshot:
    """The cached demo exchange of this profile, size and seed, generated the first time."""
    folder = cache / f"demo-{profile}-{accounts}-{seed}"
    if not (folder / "exchange.yaml").exists():
        with out.progress("generating", accounts) as advance:
            generate(folder, accounts, seed, profile, "parquet", dt.date(2026, 9, 30), None, True, advance)
    else:
        out.note(f"reusing cached demo exchange at {folder}")
    return load_snapshot(folder)


SECTIONS: tuple[tuple[str, str], ...] = (
    (
        "1. Validate the snapshot",
        "every file checked against the input contract (docs/snapshot.md); what was read",
    ),
    (
        "2. Exposure",
        "what customers are owed per asset, where it is held (hot, cold, "
        "custodian), its value; trailing trading volumes",
    ),
    (
        "3. Custody and segregation",
        "do customer wallets hold what customers are owed, asset by asset; "
        "hot/cold shares as each regime measures them",
    ),
    (
        "4. Proof of liabilities: build, hand one customer a proof, verify it",
        "a Merkle sum tree over every customer's balances; one customer's "
        "inclusion proof checked against the published root",
    ),
    (
        "5. An incident: a DMM-style cold-wallet compromise, compensated in kind",
        "a fifth of the customers' cold BTC is stolen: who lost what, and how "
        "reserve, insurance, capital and loans pay it back",
    ),
    (
        "6. The exchange fails: the administrator returns segregated assets in kind",
        "a quarter of the cold BTC is missing at failure: each customer's pro "
        "rata share per asset, holds, the payout ledger",
    ),
    (
        "7. Reserve requirement and funding under the regimes that apply",
        "what the regimes of the exchange's jurisdiction require, what is "
        "funded, any breach; every number with its formula and source",
    ),
    (
        "8. Is the rule calibrated right? Stress, backtest against history, calibration",
        "200,000 simulated years of losses against this exchange's funding; "
        "the rule replayed on 51 real incidents; the rates a target needs",
    ),
    (
        "9. The service: API keys, roles, idempotent payouts, the audit chain",
        "the REST API in process: a key per role, an idempotent payout, a "
        "customer seeing only their own, the audit chain verified",
    ),
    (
        "10. Every other regime, each on a synthetic exchange of its own market",
        "smaller exchanges in the EU, Hong Kong and Korea, each assessed under its own regime",
    ),
)
"""Each section's title and the one line that says what it shows."""


def run(settings: Settings, out: Presenter) -> None:
    """Every section of the demo, in order."""
    folder = settings.cache
    out.section(*SECTIONS[0])
    snap = snapshot(out, folder, settings.profile, settings.accounts, settings.seed)
    out.show(View.SNAPSHOT, snap)
    out.section(*SECTIONS[1])
    engine = Engine(snap)
    out.show(View.EXPOSURE, engine.exposure())
    out.show(View.VOLUMES, (engine.trailing_volumes(), snap.exchange.reporting_currency.value))
    out.section(*SECTIONS[2])
    out.show(View.CUSTODY, custody_report(snap, engine))
    out.section(*SECTIONS[3])
    proof_of_liabilities(out, snap, folder)
    out.section(*SECTIONS[4])
    incident(out, snap, folder, engine)
    out.section(*SECTIONS[5])
    distribution(out, snap, folder, engine)
    out.section(*SECTIONS[6])
    out.show(View.REPORT, assess(snap, engine=engine))
    out.section(*SECTIONS[7])
    calibration(out, snap, folder)
    out.section(*SECTIONS[8])
    service(out, folder, snap)
    out.section(*SECTIONS[9])
    peers(out, folder, settings.seed)
    write_demo(snap, folder, engine, out)


def proof_of_liabilities(out: Presenter, snap: Snapshot, folder: Path) -> None:
    """Build the tree, hand the first customer a proof, verify it against the root."""
    store = folder / f"por-{snap.exchange.id}"
    result = por.build(snap, store, force=True)
    root = result.root
    out.note(
        f"root {root['root']['hash']} over {result.customers:,} customers (height {root['height']}); "
        f"solvent in every asset: {root['solvent_every_asset']}"
    )
    account = por.Store(store).account_id(0)
    verdict = por.verify(por.proof(store, account), root)
    out.note(
        f"proof for customer {account}: {'VALID' if verdict.valid else 'INVALID'} "
        f"({len(verdict.checked)} checks against the published root)"
    )


def incident(out: Presenter, snap: Snapshot, folder: Path, engine: Engine) -> None:
    """A fifth of the customers' cold BTC stolen, compensated in kind, payouts recorded."""
    wallets = engine.table("wallets").to_pyarrow().to_pylist()
    cold = next(
        w for w in wallets if w["asset"] == "BTC" and w["storage"] == "cold" and w["owner"] == "customer"
    )
    stolen = quantize(cold["amount"] / 5, 8, "ROUND_FLOOR")
    hack = Incident.model_validate(
        {
            "id": f"demo-{snap.exchange.id}-btc-cold",
            "detected_at": "2026-10-01T13:26:00+09:00",
            "kind": "cold_wallet_hack",
            "outflows": [{"wallet": cold["wallet_id"], "asset": "BTC", "amount": f"{stolen:f}"}],
            "compensation": {
                "policy": "make_whole_in_kind",
                "funding": {
                    "company_capital": "5000000000",
                    "loans": [
                        {"lender": "group parent (loan)", "amount": "5000000000"},
                        {"lender": "group parent (capital increase)", "amount": "48000000000"},
                    ],
                },
            },
        }
    )
    result = compensate(snap, hack, engine)
    write_compensation(folder / f"incident-{snap.exchange.id}", result)
    ledger = folder / f"ledger-{snap.exchange.id}.sqlite"
    summary = result.to_dict()
    recorded = batches.record(ledger, incident_payouts(result))
    summary["ledger"] = {"path": str(ledger), "recorded": recorded.recorded, "already": recorded.already}
    summary["prices"] = {a: p for a, p in summary["prices"].items() if a == "BTC"}
    out.show(View.COMPENSATION, summary)


def distribution(out: Presenter, snap: Snapshot, folder: Path, engine: Engine) -> None:
    """A quarter of the cold BTC missing at failure; distribution in kind, recorded twice (idempotent)."""
    btc = next(a for a in engine.exposure().assets if a.asset == "BTC")
    lost = quantize(btc.customer_cold / 4, 8, "ROUND_FLOOR")
    plan = Plan(pool_losses={"BTC": lost}, successor="Synthetic Successor Exchange", de_minimis=Decimal(100))
    out.note(
        f"scenario: a quarter of the customers' cold BTC ({lost} BTC) is missing when the administrator "
        "takes over; KYC-pending and frozen accounts are held; entitlements under ¥100 are not paid"
    )
    result = distribute_in_kind(snap, plan, engine)
    target = folder / f"distribution-{snap.exchange.id}"
    write_in_kind(target, result, plan.model_dump(mode="json"))
    summary = json.loads((target / "summary.json").read_text())
    ledger = folder / f"ledger-{snap.exchange.id}.sqlite"
    scope = plan_scope(snap, plan)
    first = batches.record(ledger, distribution_payouts(scope, result, plan.successor or "direct"))
    again = batches.record(ledger, distribution_payouts(scope, result, plan.successor or "direct"))
    summary["assets"] = [a for a in summary["assets"] if a["asset"] in ("BTC", "ETH", "XRP", "JPY")]
    out.show(View.DISTRIBUTION, summary)
    out.note(
        f"payout ledger: {first.recorded:,} new payouts this run, {first.already:,} already recorded; "
        f"a rerun records {again.recorded:,} (idempotent)"
    )


def calibration(out: Presenter, snap: Snapshot, folder: Path) -> None:
    """Monte Carlo stress, the backtest against history and the regulator's calibration."""
    from caspr.calibration.backtest import backtest as run_backtest  # noqa: PLC0415
    from caspr.calibration.backtest import calibrate as run_calibration  # noqa: PLC0415
    from caspr.calibration.model import fit as fit_model  # noqa: PLC0415 - SciPy: loaded when used
    from caspr.calibration.stress import plot as stress_plot  # noqa: PLC0415
    from caspr.calibration.stress import stress as stress_run  # noqa: PLC0415

    model = fit_model()
    result = stress_run(snap, model, 200_000, 2026, (Decimal("0.99"), Decimal("0.995")))
    plot = folder / f"stress-{snap.exchange.id}.png"
    stress_plot(result, plot)
    out.show(View.STRESS, {**result.to_dict(), "model": model.to_dict()})
    out.note(f"exceedance curve: {plot}")
    out.show(View.BACKTEST, run_backtest().to_dict())
    out.show(View.CALIBRATION, run_calibration(Decimal("0.5")).to_dict())


def service(out: Presenter, folder: Path, snap: Snapshot) -> None:
    """The REST API in process: keys per role, an idempotent payout, a customer's view, the audit chain."""
    with warnings.catch_warnings():  # starlette's notice about httpx is for its maintainers, not users
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient  # noqa: PLC0415

    from caspr.api.app import Settings as ServiceSettings  # noqa: PLC0415
    from caspr.api.app import create_app  # noqa: PLC0415
    from caspr.store import keys as store_keys  # noqa: PLC0415
    from caspr.store import make_engine, sessions, transaction, verify_audit  # noqa: PLC0415

    url = f"sqlite:///{folder / 'service.sqlite'}"
    data = folder / "service-data"  # the service registers snapshots only under <data root>/<exchange id>/
    shared = data / snap.exchange.id / snap.root.name
    shared.mkdir(parents=True, exist_ok=True)
    for path in snap.root.iterdir():
        if path.is_file():
            shutil.copyfile(path, shared / path.name)
    app = create_app(url, ServiceSettings(data_root=data))
    keys = {}
    engine = make_engine(url)
    for role, account in (("administrator", None), ("customer", "A00000002"), ("regulator", None)):
        exchange = None if role == "regulator" else snap.exchange.id
        with transaction(sessions(engine)) as session:
            keys[role] = store_keys.grant(session, "demo", role, exchange, account).key
    tag = secrets.token_hex(3)

    def auth(role: str, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {keys[role]}", **({"Idempotency-Key": key} if key else {})}

    with TestClient(app) as client:
        registered = client.post(
            "/api/v1/snapshots", json={"path": str(shared)}, headers=auth("administrator", f"s-{tag}")
        ).json()
        payout = {
            "exchange_id": snap.exchange.id,
            "run_id": f"demo-{tag}",
            "account_id": "A00000002",
            "asset": "BTC",
            "amount": "0.01954527",
        }
        first = client.post("/api/v1/payouts", json=payout, headers=auth("administrator", f"p-{tag}"))
        replay = client.post("/api/v1/payouts", json=payout, headers=auth("administrator", f"p-{tag}"))
        changed = client.post(
            "/api/v1/payouts", json={**payout, "amount": "1"}, headers=auth("administrator", f"p-{tag}")
        )
        mine = client.get("/api/v1/payouts", headers=auth("customer")).json()
        other = client.get(f"/api/v1/payouts/{'0' * 64}", headers=auth("customer"))
    with sessions(engine)() as session:
        verdict = verify_audit(session)
    out.note(
        f"snapshot {registered['id']} registered; payout {first.status_code}, replay {replay.status_code} "
        f"(same body: {first.json() == replay.json()}), same key with another body {changed.status_code}"
    )
    out.note(
        f"customer A00000002 sees {len(mine)} payout(s) of its own; another id: {other.status_code}; "
        f"audit chain: {'intact' if verdict.valid else 'BROKEN'} ({verdict.entries} entries)"
    )
    out.note("run it for real: caspr serve --db URL; OpenAPI at /api/v1/openapi.json")


def peers(out: Presenter, folder: Path, seed: int) -> None:
    """Every other regime on a smaller exchange of its own market, with the breaches found."""
    reports: list[Report] = [assess(snapshot(out, folder, peer, size, seed)) for peer, size in DEMO_PEERS]
    out.show(View.REPORT_SUMMARY, reports)
    for line in breach_lines(reports):
        out.note(line, style="red")


def breach_lines(reports: list[Report]) -> Iterator[str]:
    """One line per breach found in ``reports``."""
    for report in reports:
        for assessment in report.assessments:
            for finding in assessment.breaches:
                yield f"breach {report.exchange} {finding.rule}: {finding.message}"
