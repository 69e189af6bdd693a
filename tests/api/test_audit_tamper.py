"""Issue 13 fault 4: the audit log against someone with write access to the database but not the
audit secret. Each tamper is done with the database's own SQL (SQLite and PostgreSQL); verify,
given the exported checkpoint, names it.

Planted bug (today's code): unkeyed SHA-256 entries covering requests only: truncating the tail,
deleting every entry, changing an amount or promoting a key all verified as intact.
"""

from __future__ import annotations

import hashlib
import json
import time

import sqlalchemy as sa
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from caspr.cli.main import app as cli
from caspr.store import checkpoint, make_engine, verify_audit
from caspr.store.audit import GENESIS
from tests.api.conftest import make_key
from tests.conftest import write_snapshot

SECRET = "test-audit-secret-held-outside-the-database"


def headers(key, idem=None):
    return {"Authorization": f"Bearer {key}", **({"Idempotency-Key": idem} if idem else {})}


def rechain_unkeyed(connection, from_seq):
    """What an attacker without the secret can do: recompute plain SHA-256 hashes from an entry on."""
    rows = connection.execute(
        sa.text(
            "select seq, at, actor, action, idempotency_key, payload_hash, prev_hash, state_hash from audit_log order by seq"
        )
    ).all()
    previous = GENESIS
    for r in rows:
        if r.seq >= from_seq:
            at = r.at if isinstance(r.at, str) else r.at.isoformat()
            body = [
                r.seq,
                at,
                r.actor,
                r.action,
                r.idempotency_key,
                r.payload_hash,
                previous,
                "sha256",
                r.state_hash,
            ]
            digest = hashlib.sha256(json.dumps(body, separators=(",", ":")).encode()).hexdigest()
            connection.execute(
                sa.text(
                    "update audit_log set prev_hash = :p, entry_hash = :h, scheme = 'sha256' where seq = :s"
                ),
                {"p": previous, "h": digest, "s": r.seq},
            )
            previous = digest
        else:
            previous = connection.execute(
                sa.text("select entry_hash from audit_log where seq = :s"), {"s": r.seq}
            ).scalar()


TAMPERS = {
    "edit an entry": lambda c, n: c.execute(sa.text("update audit_log set actor = 'mallory' where seq = 3")),
    "delete an entry": lambda c, n: c.execute(sa.text("delete from audit_log where seq = 3")),
    "truncate the tail": lambda c, n: c.execute(
        sa.text("delete from audit_log where seq > :n"), {"n": n - 2}
    ),
    "delete every entry": lambda c, n: c.execute(sa.text("delete from audit_log")),
    "re-chain after an edit": lambda c, n: (
        c.execute(sa.text("update audit_log set actor = 'mallory' where seq = 3")),
        rechain_unkeyed(c, 3),
    ),
    "change a payout's amount": lambda c, n: c.execute(
        sa.text("update payouts set amount = '999' where payout_id = (select min(payout_id) from payouts)")
    ),
    "delete a payout": lambda c, n: c.execute(
        sa.text("delete from payouts where payout_id = (select min(payout_id) from payouts)")
    ),
    "insert a payout": lambda c, n: c.execute(
        sa.text(
            "insert into payouts (payout_id, exchange_id, run_id, account_id, asset, amount, source, created_at) "
            "select 'f00d', exchange_id, run_id, 'A3', asset, amount, source, created_at from payouts "
            "where payout_id = (select min(payout_id) from payouts)"
        )
    ),
    "promote a key to regulator": lambda c, n: c.execute(
        sa.text("update api_keys set role = 'regulator', exchange_id = null where role = 'customer'")
    ),
    "un-revoke a key": lambda c, n: c.execute(sa.text("update api_keys set revoked_at = null")),
    "insert a key": lambda c, n: c.execute(
        sa.text(
            "insert into api_keys (key_hash, role, created_at) values (:h, 'regulator', '2026-01-01 00:00:00')"
        ),
        {"h": "ab" * 32},
    ),
}


def test_every_tamper_is_caught(service, tmp_path, monkeypatch):
    monkeypatch.setenv("CASPR_AUDIT_KEY", SECRET)
    client, url = service
    key = make_key(url, "exchange", "tiny-jp")
    make_key(url, "customer", "tiny-jp", "A1")
    root = write_snapshot(tmp_path / "tiny-jp" / "tiny")
    snapshot_id = client.post(
        "/api/v1/snapshots", json={"path": str(root)}, headers=headers(key, "s")
    ).json()["id"]
    payout = {"exchange_id": "tiny-jp", "run_id": "r", "account_id": "A2", "asset": "ETH", "amount": "2"}
    assert client.post("/api/v1/payouts", json=payout, headers=headers(key, "p")).status_code == 201
    job = client.post(
        f"/api/v1/snapshots/{snapshot_id}/distributions", json={}, headers=headers(key, "d")
    ).json()
    for _ in range(400):
        if client.get(f"/api/v1/jobs/{job['job_id']}", headers=headers(key)).json()["status"] != "running":
            break
        time.sleep(0.05)
    revoked = make_key(url, "exchange", "tiny-jp")
    listed = CliRunner().invoke(cli, ["keys", "list", "--db", url]).output.strip().splitlines()
    assert len(listed) == 3
    ran = CliRunner().invoke(cli, ["keys", "revoke", listed[-1].split("\t")[0], "--db", url])
    assert ran.exit_code == 0, ran.output
    assert client.get("/api/v1/payouts", headers=headers(revoked)).status_code == 401
    engine = make_engine(url)
    with Session(engine) as session:
        intact = verify_audit(session)
        signed = checkpoint(session)
    assert intact.valid, intact
    assert signed.seq == intact.entries >= 10
    caught = {}
    for name, tamper in TAMPERS.items():
        with engine.connect() as connection:
            transaction = connection.begin()
            tamper(connection, signed.seq)
            verdict = verify_audit(Session(bind=connection), signed)
            transaction.rollback()
        caught[name] = (verdict.valid, verdict.reason)
    assert all(valid is False for valid, _ in caught.values()), caught
    with Session(engine) as session:
        assert verify_audit(session, signed).valid  # every tamper was rolled back
    engine.dispose()


def test_caspr_audit_verify_with_a_checkpoint_file_detects_truncation(service, tmp_path, monkeypatch):
    monkeypatch.setenv("CASPR_AUDIT_KEY", SECRET)
    client, url = service
    key = make_key(url, "exchange", "tiny-jp")
    root = write_snapshot(tmp_path / "tiny-jp" / "tiny")
    client.post("/api/v1/snapshots", json={"path": str(root)}, headers=headers(key, "s"))
    runner = CliRunner()
    saved = tmp_path / "checkpoint.json"
    assert runner.invoke(cli, ["audit", "checkpoint", "--db", url, "--out", str(saved)]).exit_code == 0
    assert runner.invoke(cli, ["audit", "verify", "--db", url, "--checkpoint", str(saved)]).exit_code == 0
    head = json.loads(saved.read_text())
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("delete from audit_log where seq = :s"), {"s": head["seq"]})
    engine.dispose()
    plain = runner.invoke(cli, ["audit", "verify", "--db", url])
    assert plain.exit_code == 0  # the chain alone cannot see a cut tail...
    with_checkpoint = runner.invoke(cli, ["audit", "verify", "--db", url, "--checkpoint", str(saved)])
    assert with_checkpoint.exit_code == 1, with_checkpoint.output  # ...the checkpoint can
    assert "truncated" in with_checkpoint.output
    expect = runner.invoke(
        cli, ["audit", "verify", "--db", url, "--expect-head", f"{head['seq']}:{head['entry_hash']}"]
    )
    assert expect.exit_code == 1
    monkeypatch.setenv("CASPR_AUDIT_KEY", "a guessed secret")
    forged = runner.invoke(cli, ["audit", "verify", "--db", url, "--checkpoint", str(saved)])
    assert forged.exit_code == 1
