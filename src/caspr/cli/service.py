"""``caspr serve``, ``keys``, ``audit`` and ``db``: the REST service and its database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from caspr.cli.common import app, console, fail

keys_app = typer.Typer(help="API keys for the service.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
db_app = typer.Typer(help="The database (SQLite by default, PostgreSQL by URL).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: CASPR_DATABASE_URL or sqlite:///caspr.sqlite)"),
]


@app.command("serve")
def serve_command(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    trusted_proxies: Annotated[
        str | None,
        typer.Option(
            "--trusted-proxies",
            help="Comma-separated addresses of reverse proxies whose X-Forwarded-For is believed "
            "(default: none; the client address is the connection's, so a forged header cannot "
            "escape the bad-key lockout)",
        ),
    ] = None,
) -> None:
    """Run the REST API (/api/v1; OpenAPI at /api/v1/openapi.json)."""
    import uvicorn  # noqa: PLC0415 - only the server needs it

    from caspr.api.app import create_app  # noqa: PLC0415

    application = create_app(db)
    base = f"http://{host if ':' not in host else f'[{host}]'}:{port}/api/v1"
    print(f"caspr API listening on {base} (OpenAPI at {base}/openapi.json); Ctrl-C stops it", flush=True)
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=trusted_proxies is not None,
        forwarded_allow_ips=trusted_proxies or "",
    )


ExpiresOption = Annotated[
    int | None, typer.Option("--expires-days", min=1, help="The key stops working after this many days")
]


def _expiry(days: int | None) -> dt.datetime | None:
    return dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=days) if days else None


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option("--role", help="exchange, regulator, administrator or customer")],
    exchange: Annotated[
        str | None, typer.Option("--exchange", help="Exchange id (all roles but regulator)")
    ] = None,
    account: Annotated[str | None, typer.Option("--account", help="Account id (customer)")] = None,
    expires_days: ExpiresOption = None,
    db: DbOption = None,
) -> None:
    """Create an API key; it is printed once and stored only as its hash (audited)."""
    from caspr.store import keys, make_engine, sessions, transaction, upgrade  # noqa: PLC0415

    problem = keys.scope_problem(role, exchange, account)
    if problem:
        fail(problem)
    engine = make_engine(db)
    upgrade(engine)
    with transaction(sessions(engine)) as session:
        made = keys.grant(session, "cli", role, exchange, account, _expiry(expires_days))
    print(made.key)


@keys_app.command("list")
def keys_list(db: DbOption = None) -> None:
    """Every key: id, role, scope, created, expires, revoked (never the key)."""
    from caspr.store import keys, make_engine, sessions, upgrade  # noqa: PLC0415

    engine = make_engine(db)
    upgrade(engine)
    with sessions(engine)() as session:
        for k in keys.listing(session):
            when = {"created": k.created_at, "expires": k.expires_at, "revoked": k.revoked_at}
            dates = " ".join(f"{name}={v.isoformat() if v else '-'}" for name, v in when.items())
            print(f"{k.id}\t{k.role}\t{k.exchange_id or '-'}\t{k.account_id or '-'}\t{dates}")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id (caspr keys list)")], db: DbOption = None
) -> None:
    """Revoke a key now (audited); requests with it get 401 from then on."""
    from caspr.store import keys, make_engine, sessions, transaction, upgrade  # noqa: PLC0415

    engine = make_engine(db)
    upgrade(engine)
    try:
        with transaction(sessions(engine)) as session:
            keys.revoke(session, "cli", key_id)
    except (LookupError, ValueError) as exc:
        fail(str(exc))
    console.print(f"key {key_id} revoked")


@keys_app.command("rotate")
def keys_rotate(
    key_id: Annotated[int, typer.Argument(help="The key's id (caspr keys list)")],
    expires_days: ExpiresOption = None,
    db: DbOption = None,
) -> None:
    """Revoke a key and print its successor (same role and scope; audited)."""
    from caspr.store import keys, make_engine, sessions, transaction, upgrade  # noqa: PLC0415

    engine = make_engine(db)
    upgrade(engine)
    try:
        with transaction(sessions(engine)) as session:
            made = keys.rotate(session, "cli", key_id, _expiry(expires_days))
    except (LookupError, ValueError) as exc:
        fail(str(exc))
    print(made.key)


@audit_app.command("checkpoint")
def audit_checkpoint(
    out: Annotated[
        Path, typer.Option("--out", help="Where to write the signed checkpoint (keep it elsewhere)")
    ],
    db: DbOption = None,
) -> None:
    """Sign the log's head with the audit secret (CASPR_AUDIT_KEY) and write it to --out."""
    from caspr.store import checkpoint, make_engine, sessions, upgrade  # noqa: PLC0415

    engine = make_engine(db)
    upgrade(engine)
    try:
        with sessions(engine)() as session:
            signed = checkpoint(session)
    except ValueError as exc:
        fail(str(exc))
    out.write_text(signed.to_json() + "\n", encoding="utf-8")
    console.print(f"checkpoint of entry {signed.seq} written to {out}")


@audit_app.command("adopt")
def audit_adopt(db: DbOption = None) -> None:
    """Cover payouts and keys written before the keyed audit (migration 0004): run once after upgrading."""
    from caspr.store import make_engine, sessions, transaction, upgrade  # noqa: PLC0415
    from caspr.store.audit import adopt  # noqa: PLC0415

    engine = make_engine(db)
    upgrade(engine)
    with transaction(sessions(engine)) as session:
        payouts, keys = adopt(session, "cli")
    console.print(f"adopted {payouts} payout(s) and {keys} key(s) into the audit log")


@audit_app.command("verify")
def audit_verify(
    db: DbOption = None,
    checkpoint_file: Annotated[
        Path | None, typer.Option("--checkpoint", help="A checkpoint written by caspr audit checkpoint")
    ] = None,
    expect_head: Annotated[
        str | None,
        typer.Option("--expect-head", help="SEQ:HASH the log must still contain (a checkpoint's head)"),
    ] = None,
) -> None:
    """Recompute the chain, the state it covers and the checkpoint; name the first fault (exit 1)."""
    from caspr.store import Checkpoint, make_engine, sessions, upgrade, verify_audit  # noqa: PLC0415
    from caspr.store.audit import secret  # noqa: PLC0415

    expect = None
    if checkpoint_file is not None:
        expect = Checkpoint.from_json(checkpoint_file.read_text(encoding="utf-8"))
    elif expect_head is not None:
        seq, _, head = expect_head.partition(":")
        if not seq.isdigit() or len(head) != 64:
            fail("--expect-head takes SEQ:HASH (the hash in 64 hex digits)")
        expect = Checkpoint(int(seq), head, "expected-head", "")
    engine = make_engine(db)
    upgrade(engine)
    with sessions(engine)() as session:
        verdict = verify_audit(session, expect)
    if verdict.valid:
        keyed = "keyed" if secret() else "NOT keyed (set CASPR_AUDIT_KEY): shows accidents, not tampering"
        console.print(f"audit log intact: {verdict.entries} entries, {keyed}; {verdict.unkeyed} unkeyed")
        return
    console.print(f"[bold red]audit log broken[/] at entry {verdict.first_bad}: {verdict.reason}")
    raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Apply the migrations."""
    from caspr.store import make_engine, upgrade  # noqa: PLC0415

    upgrade(make_engine(db))
    console.print("database at the latest migration")
