"""`caspr db upgrade` takes a database created at migration 0001 to the head, keeping its rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from typer.testing import CliRunner

import caspr.store
from caspr.cli.main import app as cli


def test_a_0001_database_upgrades_and_its_old_rows_can_be_adopted(tmp_path, monkeypatch):
    monkeypatch.setenv("CASPR_AUDIT_KEY", "migration-test-secret")
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(Path(caspr.store.__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with engine.begin() as connection:
        connection.execute(sa.text("insert into exchanges values ('ex', 'Ex', 'JP', 0)"))
        connection.execute(
            sa.text("insert into payouts values ('p1', 'ex', 'r', 'A1', 'BTC', '0.5', 'direct', :at)"),
            {"at": at},
        )
        connection.execute(
            sa.text(
                "insert into api_keys (key_hash, role, exchange_id, created_at) values (:h, 'exchange', 'ex', :at)"
            ),
            {"h": "cd" * 32, "at": at},
        )
    engine.dispose()
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade", "--db", url]).exit_code == 0
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("select version_num from alembic_version")).scalar() == "0004"
        assert connection.execute(sa.text("select amount, audit_seq from payouts")).one() == ("0.5", None)
    engine.dispose()
    before = runner.invoke(cli, ["audit", "verify", "--db", url])
    assert before.exit_code == 1 and "not covered" in before.output  # never audited: said, not passed
    adopted = runner.invoke(cli, ["audit", "adopt", "--db", url])
    assert "adopted 1 payout(s) and 1 key(s)" in adopted.output
    after = runner.invoke(cli, ["audit", "verify", "--db", url])
    assert after.exit_code == 0, after.output
    assert "2 entries" in after.output.replace("\n", " ")
