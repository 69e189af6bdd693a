"""``caspr serve``, ``keys``, ``audit`` and ``db``: the REST service and its database."""

from __future__ import annotations

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
) -> None:
    """Run the REST API (/api/v1; OpenAPI at /api/v1/openapi.json)."""
    import uvicorn  # noqa: PLC0415 - only the server needs it

    from caspr.api.app import create_app  # noqa: PLC0415

    application = create_app(db)
    base = f"http://{host if ':' not in host else f'[{host}]'}:{port}/api/v1"
    print(f"caspr API listening on {base} (OpenAPI at {base}/openapi.json); Ctrl-C stops it", flush=True)
    uvicorn.run(application, host=host, port=port, log_level="warning")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option("--role", help="exchange, regulator, administrator or customer")],
    exchange: Annotated[
        str | None, typer.Option("--exchange", help="Exchange id (all roles but regulator)")
    ] = None,
    account: Annotated[str | None, typer.Option("--account", help="Account id (customer)")] = None,
    db: DbOption = None,
) -> None:
    """Create an API key; it is printed once and stored only as its hash."""
    import secrets  # noqa: PLC0415

    from caspr.api.app import ROLES, hash_key  # noqa: PLC0415
    from caspr.store import audit, make_engine, sessions, transaction, upgrade  # noqa: PLC0415
    from caspr.store.models import ApiKey  # noqa: PLC0415

    if role not in ROLES:
        fail(f"--role must be one of {', '.join(ROLES)}")
    if role != "regulator" and not exchange:
        fail(f"a {role} key needs --exchange")
    if role == "customer" and not account:
        fail("a customer key needs --account")
    engine = make_engine(db)
    upgrade(engine)
    key = "caspr_" + secrets.token_urlsafe(32)
    with transaction(sessions(engine)) as session:
        session.add(ApiKey(key_hash=hash_key(key), role=role, exchange_id=exchange, account_id=account))
        audit(session, "cli", "keys.create", {"role": role, "exchange": exchange, "account": account})
    print(key)


@audit_app.command("verify")
def audit_verify(db: DbOption = None) -> None:
    """Recompute the audit chain; name the first altered, removed or reordered entry (exit 1)."""
    from caspr.store import make_engine, sessions, upgrade, verify_audit  # noqa: PLC0415

    engine = make_engine(db)
    upgrade(engine)
    with sessions(engine)() as session:
        verdict = verify_audit(session)
    if verdict.valid:
        console.print(f"audit log intact: {verdict.entries} entries")
        return
    console.print(f"[bold red]audit log broken[/] at entry {verdict.first_bad}: {verdict.reason}")
    raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Apply the migrations."""
    from caspr.store import make_engine, upgrade  # noqa: PLC0415

    upgrade(make_engine(db))
    console.print("database at the latest migration")
