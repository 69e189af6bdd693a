"""The API under load on loopback: requests per second and p50/p99 latency.

Workload: a `caspr serve` process (uvicorn, one worker) on SQLite and on PostgreSQL; the
load generator (this script, `--clients` threads with keep-alive httpx clients, same
machine) runs for `--seconds` per scenario:
  * read:  GET /api/v1/assessments/{id} (a stored assessment with its component tree);
  * write: POST /api/v1/payouts, each a new payout with its own Idempotency-Key (one
    transaction + one audit-log append each).
The baseline beside them is GET /api/v1/health (no auth, no database), the server's floor.

Usage: python bench/bench_api.py [--seconds 10] [--clients 8] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import itertools
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from caspr.api.app import hash_key
from caspr.snapshot.generator import generate
from caspr.store import make_engine, sessions, transaction, upgrade
from caspr.store.models import ApiKey

POSTGRES = "postgresql+psycopg://root@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def load(base, headers_for, method, path_for, body_for, clients, seconds):
    latencies, errors, stop = [], [0], time.monotonic() + seconds
    lock, counter = threading.Lock(), itertools.count()

    def worker():
        local = []
        with httpx.Client(base_url=base, timeout=30) as client:
            while time.monotonic() < stop:
                i = next(counter)
                start = time.perf_counter()
                response = client.request(method, path_for(i), json=body_for(i), headers=headers_for(i))
                local.append(time.perf_counter() - start)
                if response.status_code >= 400:
                    errors[0] += 1
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    return (
        len(latencies) / seconds,
        statistics.median(latencies) * 1000,
        latencies[int(len(latencies) * 0.99) - 1] * 1000,
        errors[0],
    )


def run(name, url, folder, seconds, clients):
    engine = make_engine(url)
    upgrade(engine)
    key = "caspr_" + secrets.token_urlsafe(16)
    with transaction(sessions(engine)) as session:
        session.add(ApiKey(key_hash=hash_key(key), role="exchange", exchange_id="jp-small-synthetic"))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "caspr.cli.main", "serve", "--db", url, "--port", str(port)]
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/api/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        auth = {"Authorization": f"Bearer {key}"}
        run_tag = secrets.token_hex(4)
        snapshot = httpx.post(
            f"{base}/api/v1/snapshots",
            json={"path": str(folder)},
            headers={**auth, "Idempotency-Key": f"s-{run_tag}"},
            timeout=60,
        ).json()
        assessed = httpx.post(
            f"{base}/api/v1/snapshots/{snapshot['id']}/assessments",
            headers={**auth, "Idempotency-Key": f"a-{run_tag}"},
            timeout=60,
        ).json()
        assessment = assessed["assessments"][-1]["id"]
        results = {
            "health (floor)": load(
                base, lambda i: {}, "GET", lambda i: "/api/v1/health", lambda i: None, clients, seconds
            ),
            "read assessment": load(
                base,
                lambda i: auth,
                "GET",
                lambda i: f"/api/v1/assessments/{assessment}",
                lambda i: None,
                clients,
                seconds,
            ),
            "record payout": load(
                base,
                lambda i: {**auth, "Idempotency-Key": f"{run_tag}-{i}"},
                "POST",
                lambda i: "/api/v1/payouts",
                lambda i: {
                    "exchange_id": "jp-small-synthetic",
                    "run_id": run_tag,
                    "account_id": f"A{i:08d}",
                    "asset": "BTC",
                    "amount": "0.001",
                },
                clients,
                seconds,
            ),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    for scenario, (rps, p50, p99, errors) in results.items():
        print(
            f"{name:10s} {scenario:16s} {rps:8.0f} req/s  p50 {p50:6.1f} ms  p99 {p99:7.1f} ms  errors {errors}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="caspr-bench-api-"))
    folder = generate(work / "exchange", 5_000, seed=1, profile_name="jp-small").out
    print(
        f"workload: {args.clients} keep-alive clients, {args.seconds:.0f} s per scenario, one uvicorn worker"
    )
    run("sqlite", f"sqlite:///{work / 'caspr.sqlite'}", folder, args.seconds, args.clients)
    if not args.skip_postgres:
        import uuid

        import sqlalchemy as sa

        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
        try:
            run(
                "postgresql",
                f"{POSTGRES}?options=-csearch_path%3D{schema}",
                folder,
                args.seconds,
                args.clients,
            )
        finally:
            with admin.connect() as connection:
                connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
