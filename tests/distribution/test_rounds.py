"""Fiat-valued rounds: Mt. Gox, FTX, Celsius fixtures from distribution.md §1-4 and §9."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from caspr.cli.main import app
from caspr.distribution.output import write_rounds
from caspr.distribution.plan import Plan, Round, load_plan
from caspr.distribution.rounds import distribute_rounds
from caspr.errors import InputError, InvariantViolation
from caspr.snapshot.loader import load_snapshot
from tests.distribution.helpers import snapshot

JPY_ASSETS = "asset,kind,scale,price\nBTC,crypto,8,15000000\nUSD,fiat,2,150\nJPY,fiat,0,1\n"
USD_ASSETS = "asset,kind,scale,price\nBTC,crypto,8,90000\nUSD,fiat,2,1\n"


def gox(tmp_path, balances):
    root = snapshot(tmp_path / "s", balances, "cold,BTC,cold,customer,0\n", assets=JPY_ASSETS)
    return load_snapshot(root)


def by_track(result, account):
    return {p.track: p.amount for p in result.payments if p.account_id == account}


def test_mg1_small_fiat_claim_is_paid_by_the_base_payment(tmp_path):
    # MG-1: USD 1,000 × ¥111.43 (FX of the day before commencement) = ¥111,430 ≤ ¥200,000
    snap = gox(tmp_path, "M1,USD,1000\n")
    plan = Plan(mode="fiat", claim_prices={"USD": Decimal("111.43")}, base_payment={"cap": 200000})
    result = distribute_rounds(snap, plan)
    assert result.claims["M1"].total == Decimal("111430")
    assert by_track(result, "M1") == {"base": Decimal(111430)}


def test_mg3_base_fiat_first_then_early_lump_sum(tmp_path):
    # MG-3: USD 1,000 + 1 BTC: fiat ¥111,430, crypto ¥749,318.83 (commencement BTC rate), total ¥860,748.83.
    # Base ¥200,000 = ¥111,430 fiat + ¥88,570 crypto; rest ¥660,748.83; ELSR 21% = ¥138,757.2543 → ¥138,757.
    snap = gox(tmp_path, "M3,USD,1000\nM3,BTC,1\n")
    plan = Plan(
        mode="fiat",
        claim_prices={"USD": Decimal("111.43"), "BTC": Decimal("749318.83")},
        base_payment={"cap": 200000},
        early_lump_sum={"percent": "21%", "accounts": ["M3"]},
    )
    result = distribute_rounds(snap, plan)
    claim = result.claims["M3"]
    assert (claim.fiat, claim.crypto, claim.total) == (
        Decimal("111430"),
        Decimal("749318.83"),
        Decimal("860748.83"),
    )
    assert by_track(result, "M3") == {"base": Decimal(200000), "early_lump_sum": Decimal(138757)}
    assert not [p for p in result.payments if p.track == "round"]  # the rest is waived


def test_mg4_final_rate_from_the_estate(tmp_path):
    # Base ¥200,000 each; rests ¥1,000,000 (X) and ¥3,000,000 (Y); the estate leaves ¥944,000 after
    # base payments → 944,000 / 4,000,000 = 23.6% (the trustee's upper estimate): X ¥236,000, Y ¥708,000.
    snap = gox(tmp_path, "X,JPY,1200000\nY,JPY,3200000\n")
    plan = Plan(mode="fiat", base_payment={"cap": 200000}, estate=Decimal(1_344_000))
    result = distribute_rounds(snap, plan)
    assert result.final_percent == Decimal("0.236")
    assert by_track(result, "X") == {"base": Decimal(200000), "round": Decimal(236000)}
    assert by_track(result, "Y") == {"base": Decimal(200000), "round": Decimal(708000)}
    assert result.to_dict()["undistributed"] == "0"


def ftx(tmp_path, balances, accounts=None):
    root = snapshot(
        tmp_path / "s",
        balances,
        "cold,BTC,cold,customer,0\n",
        currency="USD",
        assets=USD_ASSETS,
        accounts=accounts,
    )
    return load_snapshot(root)


def test_fx1_convenience_class_paid_once_in_full(tmp_path):
    # FX-1: 0.5 BTC × $16,871 (petition-date table) + $1,000 = $9,435.50 ≤ $50,000 → paid once at 100%.
    # (FTX paid this class 120%, the 20% being post-petition interest: above the claim, refused below.)
    snap = ftx(tmp_path, "C1,BTC,0.5\nC1,USD,1000\n")
    plan = Plan(
        mode="fiat",
        claim_prices={"BTC": Decimal(16871)},
        convenience={"cap": 50000, "percent": "100%"},
        rounds=[{"id": "R2", "date": "2025-05-30", "cumulative_percent": "72%"}],
    )
    result = distribute_rounds(snap, plan)
    assert result.claims["C1"].total == Decimal("9435.50")
    assert by_track(result, "C1") == {"convenience": Decimal("9435.50")}


@pytest.mark.parametrize(
    ("field", "yaml_text", "message"),
    [
        # issue #15: "50" was read as a fraction (5,000%) and paid 50 times the claims
        (
            "rounds.0.cumulative_percent",
            'rounds: [{id: R1, date: 2025-01-01, cumulative_percent: "50"}]',
            "percent string",
        ),
        (
            "rounds.0.cumulative_percent",
            "rounds: [{id: R1, date: 2025-01-01, cumulative_percent: 0.5}]",
            "percent string",
        ),
        (
            "rounds.0.cumulative_percent",
            'rounds: [{id: R1, date: 2025-01-01, cumulative_percent: "150%"}]',
            "outside 0%-100%",
        ),
        (
            "rounds.0.by_class.us",
            'rounds: [{id: R1, date: 2025-01-01, cumulative_percent: "5%", by_class: {us: "-1%"}}]',
            "outside",
        ),
        ("convenience.percent", 'convenience: {cap: 50000, percent: "120%"}', "outside 0%-100%"),
        ("early_lump_sum.percent", 'early_lump_sum: {percent: "21"}', "percent string"),
    ],
)
def test_percentages_outside_0_to_100_or_without_their_sign_are_refused(tmp_path, field, yaml_text, message):
    path = tmp_path / "plan.yaml"
    path.write_text(f"mode: fiat\n{yaml_text}\n")
    with pytest.raises(InputError) as error:
        load_plan(path)
    (problem,) = error.value.problems
    assert (problem.file, problem.column) == (str(path), field)
    assert message in problem.message


def test_percentages_are_written_back_with_their_sign():
    plan = Plan(
        rounds=[{"id": "R1", "date": "2025-01-01", "cumulative_percent": "4.5%", "by_class": {"us": "100%"}}]
    )
    assert plan.rounds[0].cumulative_percent == Decimal("0.045")
    dumped = plan.model_dump(mode="json")["rounds"][0]
    assert (dumped["cumulative_percent"], dumped["by_class"]) == ("4.5%", {"us": "100%"})
    assert Plan.model_validate(plan.model_dump(mode="json")) == plan  # the summary's plan reads back


def test_fx2_fx3_class_percentages_over_rounds(tmp_path):
    # FX-2: Dotcom $100,000: R2 72% → $72,000; R3 cumulative 78% → $6,000 more.
    # FX-3: US $100,000: R2 54% → $54,000; R3 +40% → cumulative $94,000 (sources report 95%: flagged).
    snap = ftx(tmp_path, "D,USD,100000\nU,USD,100000\n")
    plan = Plan(
        mode="fiat",
        classes={"D": "dotcom", "U": "us"},
        rounds=[
            {
                "id": "R2",
                "date": "2025-05-30",
                "cumulative_percent": "72%",
                "by_class": {"dotcom": "72%", "us": "54%"},
            },
            {
                "id": "R3",
                "date": "2025-09-30",
                "cumulative_percent": "78%",
                "by_class": {"dotcom": "78%", "us": "94%"},
            },
        ],
    )
    result = distribute_rounds(snap, plan)
    d = [(p.round, p.amount) for p in result.payments if p.account_id == "D"]
    u = [(p.round, p.amount) for p in result.payments if p.account_id == "U"]
    assert d == [("R2", Decimal(72000)), ("R3", Decimal(6000))]
    assert u == [("R2", Decimal(54000)), ("R3", Decimal(40000))]
    assert result.entitled("U") == Decimal(94000)


def test_ce1_payout_in_btc_at_the_distribution_reference_price(tmp_path):
    # CE-1: $10,000 eligible, a 4.5% round → $450 → 450 / 118,019.7455 = 0.003812922.. → 0.00381292 BTC
    snap = ftx(tmp_path, "E,USD,10000\n")
    plan = Plan(
        mode="fiat",
        payout_asset="BTC",
        payout_prices={"BTC": Decimal("118019.7455")},
        rounds=[{"id": "third", "date": "2025-08-01", "cumulative_percent": "4.5%"}],
    )
    result = distribute_rounds(snap, plan)
    (payment,) = result.payments
    assert payment.amount == Decimal(450)
    assert (payment.payout_asset, payment.payout_amount) == ("BTC", Decimal("0.00381292"))


def test_disputed_reserve_released_and_holds(tmp_path):
    snap = ftx(
        tmp_path,
        "A,USD,1000\nZ,USD,1000\nK,USD,1000\n",
        accounts="A,verified,active\nZ,verified,active\nK,pending,active\n",
    )
    plan = Plan(
        mode="fiat",
        disputed={"Z": "proof of claim unreconciled"},
        rounds=[
            {"id": "R1", "date": "2025-01-01", "cumulative_percent": "50%"},
            {"id": "R2", "date": "2025-06-01", "cumulative_percent": "80%", "release_disputed": ["Z"]},
        ],
    )
    result = distribute_rounds(snap, plan)
    z = [(p.round, p.amount, p.status) for p in result.payments if p.account_id == "Z"]
    # R1's 500 was reserved; R2 allows the claim: the reserve and R2's 300 are paid in R2
    assert z == [("R2", Decimal(500), "paid"), ("R2", Decimal(300), "paid")]
    k = {(p.round, p.status) for p in result.payments if p.account_id == "K"}
    assert k == {("R1", "held"), ("R2", "held")}  # KYC pending: reserved, never paid


def test_unclaimed_payouts_are_forfeited_and_shared(tmp_path):
    # Three claims of $1,000, a 50% round: $500 each. G never collects by the deadline: its $500 is
    # forfeited and shared by the others pro rata to what they are still owed ($500 each) → $250 each.
    snap = ftx(tmp_path, "A,USD,1000\nB,USD,1000\nG,USD,1000\n")
    plan = Plan(
        mode="fiat",
        unclaimed={"deadline": "2026-10-31", "accounts": ["G"]},
        rounds=[{"id": "R1", "date": "2025-01-01", "cumulative_percent": "50%"}],
    )
    result = distribute_rounds(snap, plan)
    assert result.totals()["forfeited"] == Decimal(500)
    assert by_track(result, "A") == {"round": Decimal(500), "redistribution": Decimal(250)}
    assert result.entitled("G") == 0
    redistribution = [p for p in result.payments if p.track == "redistribution"]
    assert {p.date for p in redistribution} == {dt.date(2026, 10, 31)}


def test_plan_that_pays_more_than_the_estate_is_rejected(tmp_path):
    snap = ftx(tmp_path, "A,USD,1000\n")
    plan = Plan(
        mode="fiat",
        estate=Decimal(100),
        rounds=[{"id": "R1", "date": "2025-01-01", "cumulative_percent": "50%"}],
    )
    with pytest.raises(InputError, match="estate"):
        distribute_rounds(snap, plan)


def test_decreasing_rounds_are_rejected(tmp_path):
    snap = ftx(tmp_path, "A,USD,1000\n")
    plan = Plan(
        mode="fiat",
        rounds=[
            {"id": "R1", "date": "2025-01-01", "cumulative_percent": "50%"},
            {"id": "R2", "date": "2025-02-01", "cumulative_percent": "40%"},
        ],
    )
    with pytest.raises(InputError, match="must not decrease"):
        distribute_rounds(snap, plan)


def test_fiat_invariants_hold_even_when_the_plan_check_is_bypassed(tmp_path):
    # A plan built without validation (model_construct) asks for 5,000% of each claim, the unit mistake
    # of issue #15; the invariant "no account above its claim" must stop the run on the fiat path too,
    # with or without an estate (it used to depend on one).
    snap = ftx(tmp_path, "A,USD,1000\nB,USD,500\n")
    bad_round = Round.model_construct(
        id="R1", date=dt.date(2025, 1, 1), cumulative_percent=Decimal(50), by_class={}, release_disputed=()
    )
    with pytest.raises(InvariantViolation, match="share-within-claim"):
        distribute_rounds(
            snap, Plan.model_construct(**{**dict(Plan()), "mode": "fiat", "rounds": (bad_round,)})
        )


def test_fiat_held_accounts_are_not_listed_as_paid(tmp_path):
    # A $1,000 (verified) and K $1,000 (KYC pending), a 50% round: A is paid $500; K's $500 is reserved.
    snap = ftx(tmp_path, "A,USD,1000\nK,USD,1000\n", accounts="A,verified,active\nK,pending,active\n")
    plan = Plan(
        mode="fiat",
        estate=Decimal(2000),
        rounds=[{"id": "R1", "date": "2025-01-01", "cumulative_percent": "50%"}],
    )
    result = distribute_rounds(snap, plan)
    assert (result.paid("A"), result.held("A")) == (Decimal(500), Decimal(0))
    assert (result.paid("K"), result.held("K")) == (Decimal(0), Decimal(500))
    summary = result.to_dict()
    # paid 500 + held 500 + undistributed 1,000 = estate 2,000
    assert (summary["paid"], summary["held"], summary["undistributed"]) == ("500", "500", "1000")
    write_rounds(tmp_path / "out", result, {})
    with (tmp_path / "out" / "distributions.csv").open() as handle:
        table = {r["account_id"]: (r["distributed_amount"], r["held_amount"]) for r in csv.DictReader(handle)}
    assert table == {"A": ("500", "0"), "K": ("0", "500")}


def test_cli_refuses_a_percentage_without_its_sign_and_writes_nothing(tmp_path):
    # issue #15's plan: cumulative_percent "50" then "80" paid ¥509bn against ¥7.7bn of claims, exit 0
    root = snapshot(tmp_path / "s", "A,JPY,1000\n", "cold,BTC,cold,customer,0\n", assets=JPY_ASSETS)
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        'mode: fiat\nrounds: [{id: R1, date: 2025-01-01, cumulative_percent: "50"},'
        ' {id: R2, date: 2025-06-01, cumulative_percent: "80"}]\n'
    )
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["distribute", str(root), "--plan", str(plan), "--out", str(out)])
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert f"{plan}, column rounds.0.cumulative_percent" in message
    assert "rounds.1.cumulative_percent" in message
    assert not out.exists()


@pytest.mark.parametrize(
    ("field", "yaml_text"),
    [
        ("cash_proceeds", "cash_proceeds: -1000"),
        ("de_minimis", "de_minimis: -0.01"),
        ("estate", "mode: fiat\nestate: -5"),
        ("pool_losses.BTC", "pool_losses: {BTC: -3}"),
        ("pool_additions.ETH", "pool_additions: {ETH: -1}"),
        ("claim_prices.BTC", "mode: fiat\nclaim_prices: {BTC: -100}"),
    ],
)
def test_negative_or_not_finite_plan_amounts_are_refused(tmp_path, field, yaml_text):
    # issue 13 fault 8: a negative cash_proceeds / pool_losses / de_minimis was accepted; a
    # negative pool loss adds units that do not exist, a negative cash pool takes money away.
    path = tmp_path / "plan.yaml"
    path.write_text(f"{yaml_text}\n")
    with pytest.raises(InputError) as error:
        load_plan(path)
    (problem,) = error.value.problems
    assert (problem.file, problem.column) == (str(path), field)
