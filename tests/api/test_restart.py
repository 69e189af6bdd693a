"""Kill the server in the middle of a distribution, restart it: nothing lost, nothing paid twice."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal

import httpx
import sqlalchemy as sa

from caspr.distribution.inkind import distribute_in_kind
from caspr.distribution.plan import Plan
from caspr.snapshot.generator import generate
from caspr.snapshot.loader import load_snapshot
from caspr.store import make_engine, upgrade
from caspr.store.models import Payout
from tests.api.conftest import make_key


def serve(url: str, port: int, root) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "caspr.cli.main", "serve", "--db", url, "--port", str(port)],
        env={**os.environ, "CASPR_DATA_ROOT": str(root)},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the server did not start")


def test_kill_during_a_distribution_then_restart(database, tmp_path):
    root = generate(tmp_path / "jp-large-synthetic" / "exchange", 20_000, seed=5).out
    engine = make_engine(database)
    upgrade(engine)
    key = make_key(database, "administrator", "jp-large-synthetic")
    auth = {"Authorization": f"Bearer {key}"}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server = serve(database, port, tmp_path)
    try:
        snapshot = httpx.post(
            f"{base}/api/v1/snapshots",
            json={"path": str(root)},
            headers={**auth, "Idempotency-Key": "snap"},
            timeout=60,
        ).json()
        job = httpx.post(
            f"{base}/api/v1/snapshots/{snapshot['id']}/distributions",
            json={"batch_size": 500, "throttle_ms": 50},
            headers={**auth, "Idempotency-Key": "dist"},
            timeout=60,
        ).json()
        deadline = time.monotonic() + 60
        progress = {"done": 0, "total": 0}
        while time.monotonic() < deadline:
            progress = httpx.get(f"{base}/api/v1/jobs/{job['job_id']}", headers=auth, timeout=10).json()
            if progress["done"] > 0:
                break
            time.sleep(0.02)
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
    finally:
        if server.poll() is None:
            server.kill()
    assert 0 < progress["done"] < progress["total"], progress  # killed mid-way
    server = serve(database, port, tmp_path)  # resumes running jobs on start
    try:
        deadline = time.monotonic() + 400  # a loaded CI machine; each batch is now read back and audited
        while time.monotonic() < deadline:
            progress = httpx.get(f"{base}/api/v1/jobs/{job['job_id']}", headers=auth, timeout=10).json()
            if progress["status"] != "running":
                break
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert progress["status"] == "done", (progress["done"], progress["total"], progress["error"])
    expected = distribute_in_kind(load_snapshot(root), Plan()).rows.to_pylist()
    paid = [r for r in expected if not r["held"] and Decimal(r["distributed_amount"]) > 0]
    with engine.connect() as connection:
        count = connection.execute(sa.text("select count(*), count(distinct payout_id) from payouts")).one()
        stored = connection.execute(sa.select(Payout.asset, Payout.amount)).all()  # exact Decimals
    assert count == (len(paid), len(paid))
    for asset in {r["asset"] for r in paid}:
        total = sum(Decimal(r["distributed_amount"]) for r in paid if r["asset"] == asset)
        assert sum(amount for a, amount in stored if a == asset) == total
    engine.dispose()
