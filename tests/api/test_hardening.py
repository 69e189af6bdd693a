"""Issue 13 faults 2, 3, 5, 7, 8, 9 against the real app (SQLite and PostgreSQL).

Each test names the fault it reproduces; each fails on the code before these changes.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import anyio
import httpx
import sqlalchemy as sa
from fastapi.testclient import TestClient

from caspr.api.app import create_app
from caspr.store import make_engine
from tests.api.conftest import make_key, release, settings
from tests.conftest import write_snapshot


def headers(key, idem=None):
    out = {"Authorization": f"Bearer {key}"}
    if idem:
        out["Idempotency-Key"] = idem
    return out


def count(url, sql):
    engine = make_engine(url)
    with engine.connect() as connection:
        n = connection.execute(sa.text(sql)).scalar()
    engine.dispose()
    return n


# --- fault 5: idempotency is atomic --------------------------------------------------------------


def test_fifty_concurrent_identical_posts_do_the_work_once(live_server, tmp_path):
    """Planted bug: the record looked up before and stored after the work's transaction
    (2 jobs on SQLite, 6 jobs / 6 snapshots / 7 audit entries on PostgreSQL)."""
    base, url = live_server
    key = make_key(url, "exchange", "tiny-jp")
    root = write_snapshot(tmp_path / "tiny-jp" / "tiny")

    def post(path, body):
        with httpx.Client(base_url=base, timeout=120) as client:
            return client.post(path, json=body, headers=headers(key, path))

    with ThreadPoolExecutor(max_workers=50) as pool:
        snaps = list(pool.map(lambda _: post("/api/v1/snapshots", {"path": str(root)}), range(50)))
    assert {r.status_code for r in snaps} == {201}, {r.text for r in snaps}
    assert len({r.json()["id"] for r in snaps}) == 1
    snapshot_id = snaps[0].json()["id"]
    with ThreadPoolExecutor(max_workers=50) as pool:
        started = list(
            pool.map(
                lambda _: post(f"/api/v1/snapshots/{snapshot_id}/distributions", {"throttle_ms": 0}),
                range(50),
            )
        )
    assert {r.status_code for r in started} == {202}, {r.text for r in started}
    assert len({r.json()["job_id"] for r in started}) == 1
    assert count(url, "select count(*) from snapshots") == 1
    assert count(url, "select count(*) from jobs") == 1
    assert count(url, "select count(*) from audit_log where action = '/api/v1/snapshots'") == 1
    assert (
        count(url, f"select count(*) from audit_log where action like '/api/v1/snapshots/{snapshot_id}/%'")
        == 1
    )
    assert count(url, "select count(*) from idempotency") == 2


# --- fault 3: authentication before the body; size limits ---------------------------------------


def asgi_call(app, method, path, headers_, chunks):
    """Call the ASGI app directly; returns (status, headers, body, chunks the app read)."""
    read = [0]
    queue = list(chunks)

    async def receive():
        if not queue:
            return {"type": "http.disconnect"}
        read[0] += 1
        chunk = queue.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(queue)}

    sent = []

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers_.items()],
        "client": ("127.0.0.9", 5000),
        "server": ("testserver", 80),
        "scheme": "http",
        "root_path": "",
    }
    anyio.run(app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body, read[0]


def test_no_body_is_read_before_authentication_and_large_bodies_are_refused_early(database, tmp_path):
    """Planted bug: FastAPI parsed the body (75 MB took the server to 2.3 GB) before the key was checked."""
    app = create_app(database, settings(tmp_path, max_body=1000))
    key = make_key(database, "exchange", "tiny-jp")
    chunk = b"x" * 600
    status, hdrs, _, read = asgi_call(
        app, "POST", "/api/v1/payouts", {"content-type": "application/json"}, [chunk] * 5
    )
    assert (status, read) == (401, 0)
    assert hdrs["www-authenticate"].startswith("Bearer")
    declared = {"content-type": "application/json", "content-length": str(10**8), **headers(key, "k")}
    status, _, body, read = asgi_call(app, "POST", "/api/v1/payouts", declared, [chunk])
    assert (status, read) == (413, 0)
    assert b"application/problem" not in body and b'"status":413' in body.replace(b" ", b"")
    streamed = {"content-type": "application/json", **headers(key, "k2")}  # no Content-Length
    status, _, _, read = asgi_call(app, "POST", "/api/v1/payouts", streamed, [chunk] * 50)
    release(app)
    assert status == 413
    assert read <= 3  # refused once past 1000 bytes, not after reading all 30 kB


# --- fault 7: rate limits, lockout, revocation ---------------------------------------------------


def test_rate_limit_and_lockout_after_bad_keys(database, tmp_path):
    """Planted bug: none (300 bad keys answered in 1.5 s)."""
    app = create_app(database, settings(tmp_path, rate_per_minute=60, burst=3, bad_keys=5, lockout=120))
    key = make_key(database, "regulator")
    with TestClient(app) as client:
        codes = [client.get("/api/v1/payouts", headers=headers(key)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = client.get("/api/v1/payouts", headers=headers(key))
        assert 1 <= int(limited.headers["retry-after"]) <= 2
        assert limited.headers["content-type"] == "application/problem+json"
        bad = [client.get("/api/v1/payouts", headers=headers(f"wrong-{i}")).status_code for i in range(5)]
        assert bad == [401] * 5
        locked = client.get("/api/v1/payouts", headers=headers(key))  # even a good key, from this client
        assert locked.status_code == 429
        assert 100 <= int(locked.headers["retry-after"]) <= 120
    release(app)


# --- fault 8: PostgreSQL 500s and loose plan fields ----------------------------------------------


def test_inputs_that_made_postgresql_fail_are_refused(service, tmp_path):
    """Planted bug: a NUL byte in an id and a 300-character Idempotency-Key were 500s on PostgreSQL;
    batch_size true was accepted as 1; a zero payout was recorded."""
    client, url = service
    key = make_key(url, "exchange", "tiny-jp")
    root = write_snapshot(tmp_path / "tiny-jp" / "tiny")
    snapshot_id = client.post(
        "/api/v1/snapshots", json={"path": str(root)}, headers=headers(key, "s")
    ).json()["id"]
    payout = {"exchange_id": "tiny-jp", "run_id": "r", "account_id": "A1", "asset": "BTC", "amount": "1"}
    nul = client.post("/api/v1/payouts", json={**payout, "account_id": "A\x001"}, headers=headers(key, "n"))
    assert nul.status_code == 422, nul.text
    long_key = client.post("/api/v1/payouts", json=payout, headers=headers(key, "k" * 300))
    assert long_key.status_code == 400, long_key.text
    zero = client.post("/api/v1/payouts", json={**payout, "amount": "0"}, headers=headers(key, "z"))
    assert zero.status_code == 422, zero.text
    boolean = client.post(
        f"/api/v1/snapshots/{snapshot_id}/distributions", json={"batch_size": True}, headers=headers(key, "b")
    )
    assert boolean.status_code == 422, boolean.text
    incident = {
        "id": "x\x00y",
        "detected_at": "2026-10-01T00:00:00Z",
        "kind": "hot_wallet_hack",
        "outflows": [],
    }
    nul_incident = client.post(
        f"/api/v1/snapshots/{snapshot_id}/incidents", json={"incident": incident}, headers=headers(key, "i")
    )
    assert nul_incident.status_code == 422, nul_incident.text
    assert count(url, "select count(*) from payouts") == 0


# --- fault 9: headers, problems, logs --------------------------------------------------------------


def test_headers_problems_and_a_500_keeps_its_traceback(service, monkeypatch, caplog):
    """Planted bug: no security headers, no WWW-Authenticate, Allow dropped on 405, Swagger from a CDN,
    and the catch-all turned an exception into a 500 with only its type name and no log."""
    client, url = service
    key = make_key(url, "regulator")
    health = client.get("/api/v1/health")
    for name in ("x-content-type-options", "content-security-policy", "x-frame-options", "x-request-id"):
        assert name in health.headers
    unauthorized = client.get("/api/v1/payouts")
    assert unauthorized.headers["www-authenticate"].startswith("Bearer")
    assert unauthorized.json()["request_id"] == unauthorized.headers["x-request-id"]
    wrong_method = client.delete("/api/v1/payouts", headers=headers(key))
    assert wrong_method.status_code == 405
    assert "GET" in wrong_method.headers["allow"]
    assert wrong_method.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/docs").status_code in (401, 404)  # no page loading a CDN script

    from caspr.api.routes import payouts as routes

    def broken(_):
        raise RuntimeError("boom in payout_json")

    monkeypatch.setattr(routes, "payout_json", broken)
    make_key(url, "exchange", "tiny-jp")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "insert into exchanges (id, name, jurisdiction, administered) values ('tiny-jp', 'T', 'JP', false)"
            )
        )
    engine.dispose()
    exchange_key = make_key(url, "exchange", "tiny-jp")
    payout = {"exchange_id": "tiny-jp", "run_id": "r", "account_id": "A1", "asset": "BTC", "amount": "1"}
    quiet = TestClient(client.app, raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="caspr"):
        failed = quiet.post("/api/v1/payouts", json=payout, headers=headers(exchange_key, "x"))
    assert failed.status_code == 500
    assert "boom" not in failed.text and "Traceback" not in failed.text
    rid = failed.json()["request_id"]
    logged = [r for r in caplog.records if getattr(r, "request_id", None) == rid and r.exc_info]
    assert logged, "the 500's traceback is logged under its request id"
    assert "boom in payout_json" in str(logged[0].exc_info[1])


# --- fault 2: snapshot paths confined; nothing read before the permission check; nothing echoed -------


def test_snapshot_paths_are_confined_and_never_echo_files(service, tmp_path):
    """Planted bug: any key made the server read any path; symlinks to /etc/passwd came back in a 422;
    /dev/zero exhausted memory and a FIFO hung the worker."""
    client, url = service
    keys = {
        r: make_key(url, r, None if r == "regulator" else "tiny-jp", "A1" if r == "customer" else None)
        for r in ("exchange", "regulator", "customer")
    }
    outside = write_snapshot(tmp_path / "elsewhere")
    fifo = tmp_path / "tiny-jp" / "fifo"
    fifo.mkdir(parents=True)
    write_snapshot(fifo)
    (fifo / "balances.csv").unlink()
    os.mkfifo(fifo / "balances.csv")
    linked = write_snapshot(tmp_path / "tiny-jp" / "linked")
    (linked / "accounts.csv").unlink()
    (linked / "accounts.csv").symlink_to("/etc/passwd")
    (tmp_path / "tiny-jp" / "via-link").symlink_to(outside)

    def register(role, path, idem):
        return client.post("/api/v1/snapshots", json={"path": str(path)}, headers=headers(keys[role], idem))

    assert register("regulator", fifo, "r1").status_code == 403  # refused before the FIFO is opened
    assert register("customer", fifo, "c1").status_code == 404
    assert register("exchange", outside, "e1").status_code == 403
    assert register("exchange", "/dev", "e2").status_code == 403
    assert register("exchange", "../elsewhere", "e3").status_code == 422
    assert register("exchange", tmp_path / "tiny-jp" / "via-link", "e4").status_code == 422
    done = []
    thread = threading.Thread(target=lambda: done.append(register("exchange", fifo, "e5")), daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert done, "a FIFO in the folder hung the request"
    assert done[0].status_code == 422
    assert "balances.csv" in done[0].json()["detail"]
    echoed = register("exchange", linked, "e6")
    assert echoed.status_code == 422
    assert "root:" not in echoed.text and str(tmp_path) not in echoed.text
    assert count(url, "select count(*) from snapshots") == 0


# --- issue 13 "what must exist": snapshots enter by upload into a content-addressed store -----------


def tar_of(folder, extra=None):
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=path.name)
        for name, info in (extra or {}).items():
            info.name = name
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.isreg() else None)
    return buffer.getvalue()


def test_snapshots_are_uploaded_into_a_content_addressed_store(database, tmp_path):
    """Planted bug: no upload at all (the only way in was a server path any key could name)."""
    import tarfile

    from caspr import payouts

    app = create_app(database, settings(tmp_path / "data", max_upload=60_000))
    exchange = make_key(database, "exchange", "tiny-jp")
    source = write_snapshot(tmp_path / "upload")
    body = tar_of(source)
    upload = {"content-type": "application/x-tar"}
    with TestClient(app) as client:
        created = client.post(
            "/api/v1/snapshots/upload", content=body, headers={**upload, **headers(exchange, "u1")}
        )
        assert created.status_code == 201, created.text
        digest = payouts.snapshot_digest(source)
        assert created.json()["content_hash"] == digest
        stored = tmp_path / "data" / ".caspr-store" / digest
        assert sorted(p.name for p in stored.iterdir()) == sorted(p.name for p in source.iterdir())
        job = client.post(
            f"/api/v1/snapshots/{created.json()['id']}/distributions", json={}, headers=headers(exchange, "d")
        )
        assert job.status_code == 202
        for role, expected in (("customer", 404), ("regulator", 403)):
            key = make_key(
                database,
                role,
                None if role == "regulator" else "tiny-jp",
                "A1" if role == "customer" else None,
            )
            assert (
                client.post(
                    "/api/v1/snapshots/upload", content=body, headers={**upload, **headers(key, "r")}
                ).status_code
                == expected
            )
        link = tarfile.TarInfo()
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        linked = client.post(
            "/api/v1/snapshots/upload",
            content=tar_of(source, {"prices.csv": link}),
            headers={**upload, **headers(exchange, "u2")},
        )
        assert linked.status_code == 422 and "root:" not in linked.text
        climbing = tarfile.TarInfo()
        climbing.size = 3
        escaped = client.post(
            "/api/v1/snapshots/upload",
            content=tar_of(source, {"../evil.csv": climbing}),
            headers={**upload, **headers(exchange, "u3")},
        )
        assert escaped.status_code == 422
        assert not (tmp_path / "data" / "evil.csv").exists()
        large = tarfile.TarInfo()
        large.size = 70_000
        too_big = client.post(
            "/api/v1/snapshots/upload",
            content=tar_of(source, {"big.csv": large}),
            headers={**upload, **headers(exchange, "u4")},
        )
        assert too_big.status_code == 413
        assert (
            client.post(
                "/api/v1/snapshots/upload",
                content=b"not a tar",
                headers={**upload, **headers(exchange, "u5")},
            ).status_code
            == 422
        )
        leftovers = [p.name for p in (tmp_path / "data" / ".caspr-store").iterdir()]
        assert leftovers == [digest]  # refused uploads leave nothing behind
    release(app)
