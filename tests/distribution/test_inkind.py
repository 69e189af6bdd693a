"""In-kind distribution fixtures (distribution.md §5, §9) and the largest-remainder rule."""

from __future__ import annotations

import csv
import hashlib
from decimal import Decimal

from typer.testing import CliRunner

from caspr.cli.main import app
from caspr.distribution.inkind import distribute_in_kind
from caspr.distribution.output import write_in_kind
from caspr.distribution.plan import Plan, Rounding
from caspr.snapshot.loader import load_snapshot
from tests.distribution.helpers import snapshot


def rows(result):
    return {
        (r["account_id"], r["asset"]): (r["claim_amount"], r["distributed_amount"])
        for r in result.rows.to_pylist()
    }


def test_jp1_segregated_plus_guarantee_pool(tmp_path):
    # JP-1: A 10 BTC, B 5 BTC; segregated cold 12 BTC + performance-guarantee 1 BTC = 13 BTC.
    # A: 13 × 10/15 = 8.666666666.. → 8.66666666 + the leftover satoshi (remainder 2/3 > 1/3) = 8.66666667
    # B: 13 × 5/15 = 4.333333333.. → 4.33333333
    root = snapshot(
        tmp_path / "s", "A,BTC,10\nB,BTC,5\n", "cold,BTC,cold,customer,12\nguar,BTC,cold,guarantee,1\n"
    )
    result = distribute_in_kind(load_snapshot(root), Plan())
    assert rows(result)[("A", "BTC")] == ("10.00000000", "8.66666667")
    assert rows(result)[("B", "BTC")] == ("5.00000000", "4.33333333")
    (btc,) = [s for s in result.summaries if s.asset == "BTC"]
    assert btc.pool == 13 * 10**8
    assert btc.undistributed == 0
    assert btc.bonus_units == 1
    # without the guarantee crypto the pool is 12 BTC: 8 and 4
    result = distribute_in_kind(load_snapshot(root), Plan(include_guarantee=False))
    assert rows(result)[("A", "BTC")][1] == "8.00000000"


def test_largest_remainder_decides_a_minimal_unit_ties_by_account_id(tmp_path):
    # Pool 8 satoshi over C, A, B with 3 satoshi each: exact 2.666.. each, floors 2+2+2 = 6,
    # 2 satoshi left; all remainders tie, so A and B (smallest ids) get one each.
    root = snapshot(
        tmp_path / "s",
        "C,BTC,0.00000003\nA,BTC,0.00000003\nB,BTC,0.00000003\n",
        "cold,BTC,cold,customer,0.00000008\n",
    )
    result = distribute_in_kind(load_snapshot(root), Plan())
    got = rows(result)
    assert [got[(a, "BTC")][1] for a in ("A", "B", "C")] == ["0.00000003", "0.00000003", "0.00000002"]
    floor_only = distribute_in_kind(load_snapshot(root), Plan(rounding=Rounding.FLOOR))
    assert [rows(floor_only)[(a, "BTC")][1] for a in ("A", "B", "C")] == ["0.00000002"] * 3
    (btc,) = [s for s in floor_only.summaries if s.asset == "BTC"]
    assert btc.undistributed == 2


def test_holds_keep_their_share_and_de_minimis_returns_to_the_pool(tmp_path):
    root = snapshot(
        tmp_path / "s",
        "A,BTC,1\nB,BTC,1\nC,BTC,0.000001\n",
        "cold,BTC,cold,customer,2.000001\n",
        accounts="A,verified,active\nB,pending,active\nC,verified,active\n",
    )
    plan = Plan(de_minimis=Decimal(100), holds={"accounts": {"A": "sanctions list"}})
    result = distribute_in_kind(load_snapshot(root), plan)
    got = rows(result)
    # held accounts are paid nothing: their share is in held_amount (issue #15: it was listed as paid)
    held_amounts = {r["account_id"]: r["held_amount"] for r in result.rows.to_pylist()}
    assert (got[("A", "BTC")][1], held_amounts["A"]) == ("0.00000000", "1.00000000")
    assert (got[("B", "BTC")][1], held_amounts["B"]) == ("0.00000000", "1.00000000")
    assert held_amounts["C"] == "0.00000000"
    # C's 0.000001 BTC is worth ¥15 < ¥100: not paid, it stays in the pool
    assert got[("C", "BTC")][1] == "0.00000000"
    (btc,) = [s for s in result.summaries if s.asset == "BTC"]
    assert btc.undistributed == 100
    assert (btc.paid, btc.held) == (0, 2 * 10**8)  # paid + held + undistributed = pool
    assert dict(
        zip(result.holds["account_id"].to_pylist(), result.holds["reason"].to_pylist(), strict=True)
    ) == {"A": "sanctions list", "B": "kyc pending"}


def test_fj1_full_return_when_the_pool_covers_every_claim(tmp_path):
    # FJ-1 (FTX Japan): 0.5 BTC + ¥100,000, verified → returned in full via the successor platform
    root = snapshot(
        tmp_path / "s",
        "A,BTC,0.5\nA,JPY,100000\n",
        "cold,BTC,cold,customer,0.6\ntrust,JPY,fiat_trust,customer,100000\n",
    )
    result = distribute_in_kind(load_snapshot(root), Plan(successor="Liquid Japan"))
    assert rows(result)[("A", "BTC")] == ("0.50000000", "0.50000000")
    assert rows(result)[("A", "JPY")] == ("100000", "100000")
    assert result.successor == "Liquid Japan"


def test_cash_proceeds_follow_the_shortfall(tmp_path):
    # Pool 1 BTC for claims of 1 (A) and 3 (B): each gets 25%; shortfalls 0.75 and 2.25 BTC at ¥15m.
    # ¥1,000,000 of insurance money is split 1:3 → ¥250,000 and ¥750,000.
    root = snapshot(tmp_path / "s", "A,BTC,1\nB,BTC,3\n", "cold,BTC,cold,customer,1\n")
    result = distribute_in_kind(load_snapshot(root), Plan(cash_proceeds=Decimal(1_000_000)))
    assert result.cash == {"A": Decimal(250_000), "B": Decimal(750_000)}


def test_cli_writes_the_contracted_files_byte_identically(tmp_path):
    root = snapshot(tmp_path / "s", "A,BTC,10\nB,BTC,5\n", "cold,BTC,cold,customer,12\n")
    runner = CliRunner()
    digests = []
    for out in ("o1", "o2"):
        result = runner.invoke(app, ["distribute", str(root), "--out", str(tmp_path / out)])
        assert result.exit_code == 0, result.output
        digests.append(
            {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (tmp_path / out).iterdir()}
        )
    assert digests[0] == digests[1]
    with (tmp_path / "o1" / "distributions.csv").open() as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == [
            "account_id",
            "asset",
            "claim_amount",
            "distributed_amount",
            "held_amount",
        ]
        table = list(reader)
    assert {(r["account_id"], r["distributed_amount"]) for r in table if r["asset"] == "BTC"} == {
        ("A", "8.00000000"),
        ("B", "4.00000000"),
    }


def test_cli_bad_plan_exits_2_and_writes_nothing(tmp_path):
    root = snapshot(tmp_path / "s", "A,BTC,1\n", "cold,BTC,cold,customer,1\n")
    plan = tmp_path / "plan.yaml"
    plan.write_text("mode: sideways\n")
    result = CliRunner().invoke(
        app, ["distribute", str(root), "--plan", str(plan), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "mode" in result.output
    assert not (tmp_path / "o").exists()


def test_cash_proceeds_to_a_held_account_are_held_not_paid(tmp_path):
    # As above (¥250,000 to A, ¥750,000 to B), but B's KYC is pending: B's cash is reserved in
    # cash.csv's held_amount and B's 0.75 BTC in distributions.csv's held_amount.
    root = snapshot(
        tmp_path / "s",
        "A,BTC,1\nB,BTC,3\n",
        "cold,BTC,cold,customer,1\n",
        accounts="A,verified,active\nB,pending,active\n",
    )
    result = distribute_in_kind(load_snapshot(root), Plan(cash_proceeds=Decimal(1_000_000)))
    assert result.cash == {"A": Decimal(250_000), "B": Decimal(750_000)}  # the shortfall counts held shares
    write_in_kind(tmp_path / "o", result, {})
    with (tmp_path / "o" / "cash.csv").open() as handle:
        cash = {r["account_id"]: (r["cash_amount"], r["held_amount"]) for r in csv.DictReader(handle)}
    assert cash == {"A": ("250000", "0"), "B": ("0", "750000")}
    with (tmp_path / "o" / "distributions.csv").open() as handle:
        rows = {r["account_id"]: (r["distributed_amount"], r["held_amount"]) for r in csv.DictReader(handle)}
    assert rows == {"A": ("0.25000000", "0.00000000"), "B": ("0.00000000", "0.75000000")}
