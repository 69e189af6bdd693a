"""The REST API: authentication, the authorization matrix, idempotency, problems, concurrency, audit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest
import sqlalchemy as sa

from caspr.store import make_engine, sessions, verify_audit
from tests.api.conftest import make_key
from tests.conftest import write_snapshot


def headers(key, idem=None):
    out = {"Authorization": f"Bearer {key}"}
    if idem:
        out["Idempotency-Key"] = idem
    return out


def test_health_needs_no_key_and_the_rest_do(service):
    client, _ = service
    assert client.get("/api/v1/health").json() == {"status": "ok"}
    denied = client.get("/api/v1/payouts")
    assert denied.status_code == 401
    assert denied.headers["content-type"] == "application/problem+json"
    assert denied.json()["title"] == "Unauthorized"
    assert "Traceback" not in denied.text
    assert client.get("/api/v1/payouts", headers=headers("nope")).status_code == 401
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "caspr"


def test_authorization_matrix(service, tmp_path):
    client, url = service
    root = write_snapshot(tmp_path / "tiny-jp" / "tiny")  # exchange id tiny-jp
    keys = {
        "exchange": make_key(url, "exchange", "tiny-jp"),
        "other exchange": make_key(url, "exchange", "other-ex"),
        "regulator": make_key(url, "regulator"),
        "administrator": make_key(url, "administrator", "tiny-jp"),
        "customer A1": make_key(url, "customer", "tiny-jp", "A1"),
        "customer A2": make_key(url, "customer", "tiny-jp", "A2"),
    }
    body = {"path": str(root)}
    register = {
        who: client.post("/api/v1/snapshots", json=body, headers=headers(k, f"reg-{who}")).status_code
        for who, k in keys.items()
    }
    assert register == {
        "exchange": 201,
        "other exchange": 403,
        "regulator": 403,
        "administrator": 201,
        "customer A1": 404,  # customers get 404, never 403 (docs/service.md)
        "customer A2": 404,
    }
    snapshot_id = client.post(
        "/api/v1/snapshots", json=body, headers=headers(keys["exchange"], "reg-exchange")
    ).json()["id"]
    assess = {
        who: client.post(
            f"/api/v1/snapshots/{snapshot_id}/assessments", headers=headers(k, f"as-{who}")
        ).status_code
        for who, k in keys.items()
    }
    assert assess == {
        "exchange": 201,
        "other exchange": 404,
        "regulator": 403,
        "administrator": 201,
        "customer A1": 404,
        "customer A2": 404,
    }
    assessment = client.post(
        f"/api/v1/snapshots/{snapshot_id}/assessments", headers=headers(keys["exchange"], "as-exchange")
    ).json()["assessments"][1]
    assert assessment["regime"] == "jp-crypto-reserve"
    assert assessment["requirement"]["amount"] == "50000000"  # the floor, as in tests/rules
    read = {
        who: client.get(f"/api/v1/assessments/{assessment['id']}", headers=headers(k)).status_code
        for who, k in keys.items()
    }
    assert read == {
        "exchange": 200,
        "other exchange": 404,
        "regulator": 200,
        "administrator": 200,
        "customer A1": 404,
        "customer A2": 404,
    }
    payout = {"exchange_id": "tiny-jp", "run_id": "r1", "account_id": "A1", "asset": "BTC", "amount": "0.5"}
    record = {
        who: client.post("/api/v1/payouts", json=payout, headers=headers(k, f"p-{who}")).status_code
        for who, k in keys.items()
    }
    assert record == {
        "exchange": 201,
        "other exchange": 403,
        "regulator": 403,
        "administrator": 200,
        "customer A1": 404,  # customers get 404, never 403 (docs/service.md)
        "customer A2": 404,
    }
    payout_id = client.get("/api/v1/payouts", headers=headers(keys["customer A1"])).json()[0]["payout_id"]
    seen = {
        who: client.get(f"/api/v1/payouts/{payout_id}", headers=headers(k)).status_code
        for who, k in keys.items()
    }
    assert seen == {
        "exchange": 200,
        "other exchange": 404,
        "regulator": 200,
        "administrator": 200,
        "customer A1": 200,
        "customer A2": 404,
    }
    assert client.get("/api/v1/payouts", headers=headers(keys["customer A2"])).json() == []
    calibrate = {
        who: client.post(
            "/api/v1/calibrations", json={"coverage": "0.3"}, headers=headers(k, f"c-{who}")
        ).status_code
        for who, k in keys.items()
    }
    assert calibrate == {
        "exchange": 403,
        "other exchange": 403,
        "regulator": 200,
        "administrator": 403,
        "customer A1": 404,  # customers get 404, never 403 (docs/service.md)
        "customer A2": 404,
    }


def test_idempotency_replay_conflict_and_missing_key(service, tmp_path):
    client, url = service
    key = make_key(url, "exchange", "tiny-jp")
    root = write_snapshot(tmp_path / "tiny-jp" / "tiny")
    first = client.post("/api/v1/snapshots", json={"path": str(root)}, headers=headers(key, "k1"))
    replay = client.post("/api/v1/snapshots", json={"path": str(root)}, headers=headers(key, "k1"))
    assert first.status_code == replay.status_code == 201
    assert first.json() == replay.json()  # the first result, not a second snapshot
    other = write_snapshot(tmp_path / "tiny-jp" / "tiny2")
    conflict = client.post("/api/v1/snapshots", json={"path": str(other)}, headers=headers(key, "k1"))
    assert conflict.status_code == 409
    assert conflict.headers["content-type"] == "application/problem+json"
    missing = client.post("/api/v1/snapshots", json={"path": str(root)}, headers=headers(key))
    assert missing.status_code == 400
    bad = client.post(
        "/api/v1/snapshots", json={"path": str(tmp_path / "tiny-jp" / "nowhere")}, headers=headers(key, "k2")
    )
    assert bad.status_code == 422
    assert "not a folder" in bad.json()["detail"]
    payout = {"exchange_id": "tiny-jp", "run_id": "r1", "account_id": "A1", "asset": "BTC", "amount": "0.5"}
    assert client.post("/api/v1/payouts", json=payout, headers=headers(key, "p1")).status_code == 201
    changed = {**payout, "amount": "0.6"}
    assert client.post("/api/v1/payouts", json=changed, headers=headers(key, "p2")).status_code == 409
    float_amount = {**payout, "amount": "1e5"}
    assert client.post("/api/v1/payouts", json=float_amount, headers=headers(key, "p3")).status_code == 422


@pytest.mark.parametrize("same_key", [True, False])
def test_fifty_concurrent_identical_payouts_record_exactly_one(live_server, tmp_path, same_key):
    base, url = live_server
    key = make_key(url, "exchange", "tiny-jp")
    root = write_snapshot(tmp_path / "tiny-jp" / "tiny")
    with httpx.Client(base_url=base, timeout=60) as client:
        assert (
            client.post("/api/v1/snapshots", json={"path": str(root)}, headers=headers(key, "s")).status_code
            == 201
        )
    payout = {
        "exchange_id": "tiny-jp",
        "run_id": "run-1",
        "account_id": "A1",
        "asset": "BTC",
        "amount": "0.25",
    }

    def post(i):
        with httpx.Client(base_url=base, timeout=60) as client:
            return client.post(
                "/api/v1/payouts", json=payout, headers=headers(key, "same" if same_key else f"k{i}")
            )

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(post, range(50)))
    assert {r.status_code for r in responses} <= {200, 201}, [
        r.text for r in responses if r.status_code >= 300
    ]
    assert len({r.json()["payout_id"] for r in responses}) == 1
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("select count(*) from payouts")).scalar() == 1
    engine.dispose()


def test_audit_log_detects_altered_removed_and_reordered_entries(service, tmp_path):
    client, url = service
    key = make_key(url, "exchange", "tiny-jp")
    root = write_snapshot(tmp_path / "tiny-jp" / "tiny")
    client.post("/api/v1/snapshots", json={"path": str(root)}, headers=headers(key, "a"))
    for i in range(3):
        payout = {
            "exchange_id": "tiny-jp",
            "run_id": "r",
            "account_id": f"A{i}",
            "asset": "BTC",
            "amount": "1",
        }
        client.post("/api/v1/payouts", json=payout, headers=headers(key, f"p{i}"))
    engine = make_engine(url)
    factory = sessions(engine)
    with factory() as session:
        intact = verify_audit(session)
    assert intact.valid
    assert intact.entries == 8  # the key's grant, the snapshot, and each payout's request and state
    with engine.begin() as connection:
        connection.execute(sa.text("update audit_log set actor = 'mallory' where seq = 3"))
    with factory() as session:
        altered = verify_audit(session)
    assert (altered.valid, altered.first_bad) == (False, 3)
    with engine.begin() as connection:
        connection.execute(sa.text("delete from audit_log where seq = 3"))
    with factory() as session:
        removed = verify_audit(session)
    assert (removed.first_bad, removed.reason) == (3, "entry 3 is missing (next is 4)")
    with engine.begin() as connection:
        connection.execute(sa.text("update audit_log set seq = 3 where seq = 4"))
    with factory() as session:
        reordered = verify_audit(session)
    assert reordered.first_bad == 3
    assert "does not follow" in reordered.reason
    engine.dispose()


def test_money_round_trips_exactly(service):
    client, url = service
    key = make_key(url, "exchange", "tiny-jp")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "insert into exchanges (id, name, jurisdiction, administered) "
                "values ('tiny-jp', 'Tiny', 'JP', false)"
            )
        )
    amount = "12345678901234567890.123456789012345678"  # 38 significant digits: no float holds this
    payout = {"exchange_id": "tiny-jp", "run_id": "r", "account_id": "A1", "asset": "ETH", "amount": amount}
    created = client.post("/api/v1/payouts", json=payout, headers=headers(key, "m1"))
    assert created.status_code == 201, created.text
    assert created.json()["amount"] == amount
    assert (
        client.get(f"/api/v1/payouts/{created.json()['payout_id']}", headers=headers(key)).json()["amount"]
        == amount
    )
    engine.dispose()


def test_recording_an_incident_runs_the_waterfall_and_records_payouts_once(service, tmp_path):
    client, url = service
    key = make_key(url, "exchange", "tiny-jp")
    root = write_snapshot(tmp_path / "tiny-jp" / "tiny")
    snapshot_id = client.post(
        "/api/v1/snapshots", json={"path": str(root)}, headers=headers(key, "s")
    ).json()["id"]
    incident = {
        "id": "api-hack",
        "detected_at": "2026-10-01T00:00:00Z",
        "kind": "hot_wallet_hack",
        "outflows": [{"wallet": "btc-hot", "asset": "BTC", "amount": "0.05"}],
    }
    started = client.post(
        f"/api/v1/snapshots/{snapshot_id}/incidents", json={"incident": incident}, headers=headers(key, "i1")
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["job_id"]
    import time

    for _ in range(200):
        job = client.get(f"/api/v1/jobs/{job_id}", headers=headers(key)).json()
        if job["status"] != "running":
            break
        time.sleep(0.05)
    assert job["status"] == "done", job
    # 0.05 BTC stolen from the customer hot wallet, shared by A1 (1.5 BTC) and A2 (0.25000001 BTC)
    assert job["result"]["customer_loss"] == {"BTC": "0.05"}
    assert job["total"] == 2
    payouts = client.get("/api/v1/payouts", headers=headers(key)).json()
    assert sorted(p["account_id"] for p in payouts) == ["A1", "A2"]
    assert sum(Decimal(p["amount"]) for p in payouts) == Decimal("0.05")
    replay = client.post(
        f"/api/v1/snapshots/{snapshot_id}/incidents", json={"incident": incident}, headers=headers(key, "i1")
    )
    assert replay.json()["job_id"] == job_id  # the same job, not a second one
