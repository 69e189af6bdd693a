"""Issue 13 fault 1 and issue 15 (API jobs): payouts scoped per exchange and snapshot; a job's
``done`` counts only rows written and verified; batches fit the database; errors carry no data."""

from __future__ import annotations

import json
import sqlite3
import time
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import event

from caspr import payouts
from caspr.api import jobs
from caspr.distribution.plan import Plan
from caspr.snapshot.generator import generate
from caspr.store import make_engine, sessions, transaction, upgrade
from caspr.store import models as m
from tests.api.conftest import make_key
from tests.conftest import EXCHANGE, write_snapshot

INCIDENT = {
    "id": "hack-1",
    "detected_at": "2026-10-01T00:00:00Z",
    "kind": "hot_wallet_hack",
    "outflows": [{"wallet": "btc-hot", "asset": "BTC", "amount": "0.05"}],
}


def headers(key, idem=None):
    out = {"Authorization": f"Bearer {key}"}
    if idem:
        out["Idempotency-Key"] = idem
    return out


def wait(client, key, job_id):
    for _ in range(400):
        job = client.get(f"/api/v1/jobs/{job_id}", headers=headers(key)).json()
        if job["status"] != "running":
            return job
        time.sleep(0.05)
    raise AssertionError(job)


def two_exchanges(client, url, tmp_path):
    """Two exchanges with the same account ids (A1, A2, A3): tiny-jp and twin-jp."""
    keys = {"tiny-jp": make_key(url, "exchange", "tiny-jp"), "twin-jp": make_key(url, "exchange", "twin-jp")}
    roots = {
        "tiny-jp": write_snapshot(tmp_path / "tiny-jp" / "tiny"),
        "twin-jp": write_snapshot(
            tmp_path / "twin-jp" / "twin", exchange_yaml=EXCHANGE.replace("tiny-jp", "twin-jp")
        ),
    }
    ids = {}
    for ex, key in keys.items():
        created = client.post("/api/v1/snapshots", json={"path": str(roots[ex])}, headers=headers(key, "s"))
        assert created.status_code == 201, created.text
        ids[ex] = created.json()["id"]
    return keys, ids, roots


def count_payouts(url, exchange_id):
    engine = make_engine(url)
    with engine.connect() as connection:
        n = connection.execute(
            sa.text("select count(*) from payouts where exchange_id = :e"), {"e": exchange_id}
        ).scalar()
    engine.dispose()
    return n


def test_the_same_incident_at_two_exchanges_records_both(service, tmp_path):
    """Planted bug: ids hashed from (run, account, asset) only; the twin's job said done 2/2 and wrote 0."""
    client, url = service
    keys, ids, _ = two_exchanges(client, url, tmp_path)
    results = {}
    for ex, key in keys.items():
        started = client.post(
            f"/api/v1/snapshots/{ids[ex]}/incidents", json={"incident": INCIDENT}, headers=headers(key, "i")
        )
        assert started.status_code == 202, started.text
        results[ex] = wait(client, key, started.json()["job_id"])
    for ex, job in results.items():
        assert job["status"] == "done", job
        # 0.05 BTC stolen from the hot wallet: A1 (1.5 BTC) and A2 (0.25000001 BTC) share it
        assert (job["done"], job["total"]) == (2, 2)
        assert count_payouts(url, ex) == 2
        seen = client.get("/api/v1/payouts", headers=headers(keys[ex])).json()
        assert sum(Decimal(p["amount"]) for p in seen) == Decimal("0.05")


def test_the_same_plan_at_two_exchanges_records_both(service, tmp_path):
    client, url = service
    keys, ids, _ = two_exchanges(client, url, tmp_path)
    jobs_ = {}
    for ex, key in keys.items():
        started = client.post(
            f"/api/v1/snapshots/{ids[ex]}/distributions", json={}, headers=headers(key, "d")
        )
        assert started.status_code == 202, started.text
        jobs_[ex] = wait(client, key, started.json()["job_id"])
    assert jobs_["tiny-jp"]["run_id"] != jobs_["twin-jp"]["run_id"]  # not guessable from another exchange
    for ex, job in jobs_.items():
        assert job["status"] == "done", job
        # A1 (BTC, JPY) and A2 (BTC, ETH) are paid; A3 is held (kyc pending, frozen)
        assert job["done"] == job["total"] == 4
        assert count_payouts(url, ex) == 4


def test_a_payout_of_another_exchange_is_neither_replaced_nor_revealed(service, tmp_path):
    """Planted bug: the twin's identical payout was a 409 'already recorded': it learnt tiny-jp paid A1."""
    client, url = service
    keys, _, _ = two_exchanges(client, url, tmp_path)
    body = {"run_id": "r1", "account_id": "A1", "asset": "BTC", "amount": "0.5"}
    first = client.post(
        "/api/v1/payouts", json={**body, "exchange_id": "tiny-jp"}, headers=headers(keys["tiny-jp"], "p")
    )
    second = client.post(
        "/api/v1/payouts",
        json={**body, "exchange_id": "twin-jp", "amount": "0.7"},
        headers=headers(keys["twin-jp"], "p"),
    )
    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert first.json()["payout_id"] != second.json()["payout_id"]
    assert count_payouts(url, "tiny-jp") == count_payouts(url, "twin-jp") == 1


def test_a_job_never_counts_a_row_it_did_not_write(service, tmp_path):
    """A row already under one of the run's ids with another body fails the job; done stays below total.

    Planted bug: on_conflict_do_nothing without reading back, which reported done 4/4.
    """
    client, url = service
    keys, ids, _ = two_exchanges(client, url, tmp_path)
    with transaction(sessions(make_engine(url))) as session:
        snap = session.get(m.Snapshot, ids["tiny-jp"])
        scope = payouts.Scope(
            "tiny-jp",
            snap.content_hash,
            payouts.run_id("tiny-jp", snap.content_hash, {"plan": Plan().model_dump(mode="json")}),
        )
        session.add(
            m.Payout(
                payout_id=payouts.payout_id(scope, "A2", "ETH", "in_kind", "in_kind"),
                exchange_id="tiny-jp",
                run_id="elsewhere",
                account_id="A2",
                asset="ETH",
                amount=Decimal(0),
                source="planted",
            )
        )
    started = client.post(
        f"/api/v1/snapshots/{ids['tiny-jp']}/distributions", json={}, headers=headers(keys["tiny-jp"], "d")
    )
    job = wait(client, keys["tiny-jp"], started.json()["job_id"])
    assert job["status"] == "failed", job
    assert job["done"] < job["total"] == 4
    assert set(job["error"]) == {"message", "error_id"}
    assert "different body" in job["error"]["message"]


def test_a_snapshot_edited_after_registration_is_refused_and_the_error_holds_no_data(service, tmp_path):
    """Issue 13 fault 6. Planted bug: the job loaded the edited files and paid A1 1000 BTC under the old id."""
    client, url = service
    keys, ids, roots = two_exchanges(client, url, tmp_path)
    balances = (roots["tiny-jp"] / "balances.csv").read_text().replace("A1,BTC,1.5", "A1,BTC,1000")
    (roots["tiny-jp"] / "balances.csv").write_text(balances)
    started = client.post(
        f"/api/v1/snapshots/{ids['tiny-jp']}/distributions", json={}, headers=headers(keys["tiny-jp"], "d")
    )
    job = wait(client, keys["tiny-jp"], started.json()["job_id"])
    assert job["status"] == "failed", job
    assert job["done"] == 0
    assert count_payouts(url, "tiny-jp") == 0
    assert "changed after registration" in job["error"]["message"]
    assert "A1" not in json.dumps(job) and "1000" not in json.dumps(job)
    assert len(job["error"]["error_id"]) == 16


def test_batches_fit_the_databases_variable_limit(database, tmp_path):
    """Issue 15: batch_size 50000 failed with 'too many SQL variables'. Here SQLite allows 999 variables
    (its default before 3.32); 8 columns a row, so today's single INSERT of every row fails."""
    root = generate(tmp_path / "ex", 300, seed=3).out
    engine = make_engine(database)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _small(connection, _record):
            connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)

    upgrade(engine)
    factory = sessions(engine)
    digest = payouts.snapshot_digest(root)
    from caspr.snapshot.loader import load_snapshot

    exchange = load_snapshot(root).exchange
    with transaction(factory) as session:
        session.add(m.Exchange(id=exchange.id, name="x", jurisdiction="JP", administered=True))
        session.flush()
        snap = m.Snapshot(exchange_id=exchange.id, path=str(root), content_hash=digest, as_of=exchange.as_of)
        session.add(snap)
        session.flush()
        job = m.Job(
            kind="distribution",
            exchange_id=exchange.id,
            snapshot_id=snap.id,
            run_id="r",
            parameters={"plan": {}, "batch_size": 50_000},
            status="running",
            done=0,
            total=0,
        )
        session.add(job)
        session.flush()
        job_id = job.id
    jobs.run(factory, job_id)
    with factory() as session:
        job = session.get(m.Job, job_id)
        stored = session.scalar(sa.select(sa.func.count()).select_from(m.Payout))
    assert job.status == "done", job.detail
    assert job.total > 999 // 8  # more rows than one statement can carry
    assert job.done == job.total == stored
    engine.dispose()


def test_the_cli_ledger_and_the_api_record_the_same_payouts(service, tmp_path):
    """Issue 16: one derivation. Planted bug: the CLI's own id (run, account, asset, round, track)[:32]
    and run id (exchange, as_of, plan) differed from the API's, so the two ledgers could not be reconciled."""
    from typer.testing import CliRunner

    from caspr.cli.main import app

    client, url = service
    keys, ids, roots = two_exchanges(client, url, tmp_path)
    ledger = tmp_path / "ledger.sqlite"
    ran = CliRunner().invoke(
        app, ["distribute", str(roots["tiny-jp"]), "--out", str(tmp_path / "out"), "--ledger", str(ledger)]
    )
    assert ran.exit_code == 0, ran.output
    with sqlite3.connect(ledger) as con:
        cli = {
            (r[0], r[1], r[2], r[3])
            for r in con.execute("select payout_id, account_id, asset, amount from payouts")
        }
    started = client.post(
        f"/api/v1/snapshots/{ids['tiny-jp']}/distributions", json={}, headers=headers(keys["tiny-jp"], "d")
    )
    assert wait(client, keys["tiny-jp"], started.json()["job_id"])["status"] == "done"
    api = {
        (p["payout_id"], p["account_id"], p["asset"], p["amount"])
        for p in client.get("/api/v1/payouts", headers=headers(keys["tiny-jp"])).json()
    }
    assert len(cli) == 4
    assert cli == api
