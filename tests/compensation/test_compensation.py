"""Incident compensation fixtures (distribution.md §6) and the reconciliation identities."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from caspr.cli.main import app
from caspr.compensation import compensate
from caspr.compensation.incident import Incident, load_incident
from caspr.errors import InputError, InvariantViolation
from caspr.snapshot.loader import load_snapshot
from tests.rules.helpers import exchange_yaml, write


def snapshot(
    root,
    balances,
    wallets,
    assets,
    currency="JPY",
    insurance="policies: []\n",
    reserve="deposits: []\n",
    financials='own_funds: "0"',
):
    return load_snapshot(
        write(
            root,
            {
                "exchange.yaml": exchange_yaml("JP", currency, "custody", financials),
                "assets.csv": "asset,kind,scale,price\n" + assets,
                "balances.csv": "account_id,asset,amount\n" + balances,
                "wallets.csv": "wallet_id,asset,storage,owner,amount\n" + wallets,
                "volumes.csv": "date,category,notional\n",
                "insurance.yaml": insurance,
                "reserve.yaml": reserve,
            },
        )
    )


def rows(result):
    return {(r["account_id"], r["asset"]): r for r in result.payouts.to_pylist()}


def test_cc1_coincheck_cash_at_a_fixed_price(tmp_path):
    # CC-1: 10,000 XEM at ¥88.549 → ¥885,490, paid in yen from the company's own funds
    snap = snapshot(
        tmp_path / "s",
        "A,XEM,10000\nB,XEM,2500.5\n",
        "xem-hot,XEM,hot,customer,12500.5\n",
        "XEM,crypto,6,120\nJPY,fiat,0,1\n",
        financials='own_funds: "50000000000"',
    )
    incident = Incident.model_validate(
        {
            "id": "coincheck-2018",
            "detected_at": "2018-01-26T12:09:00+09:00",
            "kind": "hot_wallet_hack",
            "outflows": [{"wallet": "xem-hot", "asset": "XEM", "amount": "12500.5"}],
            "compensation": {"policy": "cash", "prices": {"XEM": {"fixed": "88.549"}}},
        }
    )
    result = compensate(snap, incident)
    a = rows(result)[("A", "XEM")]
    assert (a["loss"], a["compensation"], a["compensation_amount"]) == ("10000.000000", "cash", "885490")
    b = rows(result)[("B", "XEM")]
    assert b["compensation_amount"] == "221416"  # 2,500.5 × 88.549 = 221,416.77 → ¥221,416 (floored)
    assert result.shortfall == 0
    assert [s.source for s in result.steps if s.paid] == ["company capital"]


def test_vwap_price_over_a_window(tmp_path):
    # (100 × 80 + 300 × 90) / 400 = 87.5 per XEM
    snap = snapshot(
        tmp_path / "s",
        "A,XEM,10\n",
        "xem-hot,XEM,hot,customer,10\n",
        "XEM,crypto,6,120\nJPY,fiat,0,1\n",
        financials='own_funds: "1000000"',
    )
    incident = Incident.model_validate(
        {
            "id": "vwap",
            "detected_at": "2026-01-01T00:00:00Z",
            "kind": "hot_wallet_hack",
            "outflows": [{"wallet": "xem-hot", "asset": "XEM", "amount": "10"}],
            "compensation": {
                "policy": "cash",
                "prices": {
                    "XEM": {"vwap": [{"price": "80", "volume": "100"}, {"price": "90", "volume": "300"}]}
                },
            },
        }
    )
    result = compensate(snap, incident)
    assert result.prices["XEM"] == (Decimal("87.5"), "volume-weighted average")
    assert rows(result)[("A", "XEM")]["compensation_amount"] == "875"


def test_bx1_bitfinex_generalised_haircut_with_ious(tmp_path):
    # BX-1: 36.067% on every balance: 10 BTC + $1,000 → loses 3.6067 BTC and $360.67 (keeps 6.3933 and 639.33)
    snap = snapshot(
        tmp_path / "s",
        "A,BTC,10\nA,USD,1000\nB,BTC,100\n",
        "btc-multisig,BTC,hot,customer,110\nusd-bank,USD,bank,customer,1000\n",
        "BTC,crypto,8,600\nUSD,fiat,2,1\n",
        currency="USD",
    )
    incident = Incident.model_validate(
        {
            "id": "bitfinex-2016",
            "detected_at": "2016-08-02T00:00:00Z",
            "kind": "multisig_ui_compromise",
            "outflows": [{"wallet": "btc-multisig", "asset": "BTC", "amount": "40"}],
            "compensation": {"policy": "haircut", "scope": "all_customers", "haircut": "0.36067"},
        }
    )
    result = compensate(snap, incident)
    got = rows(result)
    assert got[("A", "BTC")]["loss"] == "3.60670000"
    assert got[("A", "USD")]["loss"] == "360.67"
    assert got[("B", "BTC")]["loss"] == "36.06700000"
    # IOU = the value of each loss: 3.6067 × $600 = $2,164.02; $360.67
    assert got[("A", "BTC")]["iou_value"] == "2164.02"
    assert got[("A", "USD")]["iou_value"] == "360.67"
    assert result.funded == 0
    assert result.shortfall == result.total_loss  # customers bear it until the IOUs are redeemed


def dmm(tmp_path, insurance="policies: []\n", reserve="deposits: []\n", loans=()):
    snap = snapshot(
        tmp_path / "s",
        "A,BTC,3\nB,BTC,1\n",
        "btc-cold,BTC,cold,customer,4\nown,BTC,hot,company,1\n",
        "BTC,crypto,8,10000000\nJPY,fiat,0,1\n",
        insurance=insurance,
        reserve=reserve,
        financials='own_funds: "5000000"',
    )
    incident = Incident.model_validate(
        {
            "id": "dmm-style",
            "detected_at": "2026-05-31T13:26:00+09:00",
            "kind": "cold_wallet_hack",
            "outflows": [
                {"wallet": "btc-cold", "asset": "BTC", "amount": "2"},
                {"wallet": "own", "asset": "BTC", "amount": "0.5"},
            ],
            "compensation": {"policy": "make_whole_in_kind", "funding": {"loans": list(loans)}},
        }
    )
    return compensate(snap, incident)


def test_dmm_style_make_whole_in_kind_funded_by_the_group(tmp_path):
    # 2 BTC of customer crypto lost (¥20,000,000 at ¥10m/BTC); 0.5 BTC of the company's own is not compensated.
    # Affected holders share the 2 BTC pro rata: A 1.5, B 0.5. Reserve ¥3m; insurance pays
    # min(limit ¥10m, loss left ¥17m − retention ¥1m) = ¥10m; company capital ¥5m; the group loan the last ¥2m.
    insurance = (
        "policies:\n  - {id: specie, insurer: X, insurer_affiliated: false, limit: '10000000', retention: '1000000', basis: aggregate,"
        " covers: [cold], starts: 2026-01-01, expires: 2027-01-01, currency: JPY}\n"
    )
    reserve = "deposits:\n  - {id: r, form: cash_trust, amount: '3000000', currency: JPY, held_at: T}\n"
    result = dmm(tmp_path, insurance, reserve, loans=[{"lender": "group parent", "amount": "10000000"}])
    assert result.customer_loss_units == {"BTC": 2 * 10**8}
    assert result.company_loss_units == {"BTC": 5 * 10**7}
    assert [(s.source, s.paid) for s in result.steps] == [
        ("reserve", 3_000_000),
        ("insurance:specie", 10_000_000),
        ("company capital", 5_000_000),
        ("loan:group parent", 2_000_000),
    ]
    got = rows(result)
    assert (got[("A", "BTC")]["loss"], got[("A", "BTC")]["compensation_amount"]) == (
        "1.50000000",
        "1.50000000",
    )
    assert got[("B", "BTC")]["compensation_amount"] == "0.50000000"
    # each row's sources add up to its value: A carries 3/4 of each source
    assert got[("A", "BTC")]["sources"] == (
        "reserve=2250000;insurance:specie=7500000;company capital=3750000;loan:group parent=1500000"
    )
    assert result.shortfall == 0


def test_expired_policy_and_a_shortfall(tmp_path):
    insurance = (
        "policies:\n  - {id: old, insurer: X, insurer_affiliated: false, limit: '50000000', retention: '0', basis: aggregate,"
        " covers: [cold], starts: 2025-01-01, expires: 2026-01-01, currency: JPY}\n"
    )
    result = dmm(tmp_path, insurance)
    (expired,) = [s for s in result.steps if s.source == "insurance:old"]
    assert expired.paid == 0
    assert "not in force" in expired.note
    # only ¥5m of company capital for ¥20m of losses: ¥15m shortfall; in kind, A gets 1.5 × 5/20 = 0.375 BTC
    assert result.shortfall == 15_000_000
    assert rows(result)[("A", "BTC")]["compensation_amount"] == "0.37500000"


def test_bad_outflows_are_named(tmp_path):
    snap = snapshot(
        tmp_path / "s", "A,BTC,1\n", "btc-cold,BTC,cold,customer,1\n", "BTC,crypto,8,1\nJPY,fiat,0,1\n"
    )
    incident = Incident.model_validate(
        {
            "id": "x",
            "detected_at": "2026-01-01T00:00:00Z",
            "kind": "cold_wallet_hack",
            "outflows": [
                {"wallet": "nope", "asset": "BTC", "amount": "1"},
                {"wallet": "btc-cold", "asset": "BTC", "amount": "2"},
            ],
        }
    )
    with pytest.raises(InputError) as error:
        compensate(snap, incident)
    columns = [p.column for p in error.value.problems]
    assert columns == ["outflows.0.wallet", "outflows.1.amount"]


COMP_SCALES = {"BTC": 8, "ETH": 18, "XEM": 6}
COMP_PRICES = {"BTC": Decimal("12345678.9"), "ETH": Decimal("412345.6789"), "XEM": Decimal("88.549")}
COMP_WALLETS = [  # id, asset, storage, owner
    ("btc-hot", "BTC", "hot", "customer"),
    ("btc-cold", "BTC", "cold", "customer"),
    ("eth-cold", "ETH", "cold", "customer"),
    ("xem-hot", "XEM", "hot", "customer"),
    ("btc-own", "BTC", "hot", "company"),
]
units = {
    "BTC": st.integers(1, 2 * 10**15),  # to 20 million BTC
    "ETH": st.integers(1, 10**27) | st.sampled_from([1, 10**18 - 1, 10**27]),  # 1 wei to 10^9 ETH
    "XEM": st.integers(1, 10**16),
}


@st.composite
def incidents_cases(draw):
    """Several assets and wallets, 0-2 policies and deposits, every policy and scope, amounts to scale limits."""
    accounts = [f"U{i:02d}" for i in range(draw(st.integers(1, 8)))]
    balances = {a: [draw(units[a]) if draw(st.booleans()) else 0 for _ in accounts] for a in COMP_SCALES}
    for asset, held in balances.items():  # every asset held by someone
        if not any(held):
            held[0] = draw(units[asset])
    split = {a: draw(st.fractions(0, 1)) for a in COMP_SCALES}  # share of each asset held hot (customer)
    wallets = {}
    for wallet, asset, storage, owner in COMP_WALLETS:
        total = sum(balances[asset])
        if owner == "company":
            wallets[wallet] = draw(units[asset])
        elif asset == "BTC":
            hot = int(total * split["BTC"])
            wallets[wallet] = hot if storage == "hot" else total - hot
        else:
            wallets[wallet] = total
    lost = {}
    for wallet in draw(st.lists(st.sampled_from([w[0] for w in COMP_WALLETS]), min_size=1, unique=True)):
        if wallets[wallet]:
            lost[wallet] = draw(st.integers(1, wallets[wallet]))
    if not lost:
        lost["eth-cold"] = max(1, wallets["eth-cold"])
    policies = draw(
        st.lists(
            st.tuples(
                st.integers(0, 10**12),
                st.integers(0, 10**10),
                st.sampled_from(["[hot]", "[cold]", "[hot, cold]", "[insider]"]),
                st.sampled_from([("2026-01-01", "2027-01-01"), ("2024-01-01", "2025-01-01")]),
            ),
            max_size=2,
        )
    )
    deposits = draw(st.lists(st.integers(0, 10**11), max_size=2))
    capital = draw(st.integers(0, 10**12))
    policy = draw(st.sampled_from(["make_whole_in_kind", "cash", "haircut"]))
    scope = draw(st.sampled_from(["affected_only", "all_customers"]))
    return accounts, balances, wallets, lost, policies, deposits, capital, policy, scope


@given(incidents_cases())
@settings(max_examples=60, deadline=None)
def test_reconciliation_identities_hold_for_random_incidents(tmp_path_factory, case):
    accounts, balances, wallets, lost, policies, deposits, capital, policy, scope = case

    def text(asset, value):
        return f"{Decimal(value).scaleb(-COMP_SCALES[asset]):f}"

    body = "".join(
        f"{account},{asset},{text(asset, amounts[i])}\n"
        for asset, amounts in balances.items()
        for i, account in enumerate(accounts)
        if amounts[i]
    )
    insurance = "policies:\n" + "".join(
        f"  - {{id: p{i}, insurer: X, insurer_affiliated: false, limit: '{limit}', retention: '{retention}', basis: aggregate,"
        f" covers: {covers}, starts: {starts}, expires: {expires}, currency: JPY}}\n"
        for i, (limit, retention, covers, (starts, expires)) in enumerate(policies)
    )
    reserve = "deposits:\n" + "".join(
        f"  - {{id: r{i}, form: deposit, amount: '{amount}', currency: JPY, held_at: B}}\n"
        for i, amount in enumerate(deposits)
    )
    snap = snapshot(
        tmp_path_factory.mktemp("h"),
        body,
        "".join(f"{w},{a},{s},{o},{text(a, wallets[w])}\n" for w, a, s, o in COMP_WALLETS),
        "".join(f"{a},crypto,{COMP_SCALES[a]},{COMP_PRICES[a]}\n" for a in COMP_SCALES) + "JPY,fiat,0,1\n",
        insurance=insurance if policies else "policies: []\n",
        reserve=reserve if deposits else "deposits: []\n",
        financials=f'own_funds: "{capital}"',
    )
    asset_of = {w: a for w, a, _, _ in COMP_WALLETS}
    incident = Incident.model_validate(
        {
            "id": "h",
            "detected_at": "2026-06-01T00:00:00Z",
            "kind": "cold_wallet_hack",
            "outflows": [
                {"wallet": w, "asset": asset_of[w], "amount": text(asset_of[w], u)} for w, u in lost.items()
            ],
            "compensation": {"policy": policy, "scope": scope},
        }
    )
    result = compensate(snap, incident)
    table = result.payouts.to_pylist()
    values = [Decimal(r["compensation_value"]) for r in table]
    losses = [Decimal(r["loss_value"]) for r in table]
    assert sum(values) == Decimal(result.funded)  # Σ payouts = Σ funded (JPY scale 0)
    assert result.funded + result.shortfall == result.total_loss  # Σ funded + shortfall = Σ losses
    assert sum(losses) == result.total_loss
    assert all(0 <= v <= loss for v, loss in zip(values, losses, strict=True))  # nobody above their loss
    for r in table:
        if policy == "make_whole_in_kind":
            assert Decimal(r["compensation_amount"]) <= Decimal(
                r["loss"]
            )  # in kind: never above the units lost
        if policy == "haircut":
            assert (r["iou_value"], Decimal(r["compensation_value"])) == (r["loss_value"], 0)
    for asset, scale in COMP_SCALES.items():  # each asset's loss value rounded once: floor(Σ units × price)
        rows_units = sum(Decimal(r["loss"]) for r in table if r["asset"] == asset)
        rows_value = sum(Decimal(r["loss_value"]) for r in table if r["asset"] == asset)
        assert rows_value == (rows_units * COMP_PRICES[asset]).to_integral_value(rounding="ROUND_FLOOR")
        customer_lost = sum(u for w, u in lost.items() if asset_of[w] == asset and w != "btc-own")
        if scope == "affected_only":  # every lost customer unit attributed to a holder
            assert rows_units == Decimal(customer_lost).scaleb(-scale)


def test_cli_incident_records_payouts_once(tmp_path):
    root = tmp_path / "s"
    snapshot(
        root,
        "A,BTC,3\nB,BTC,1\n",
        "btc-cold,BTC,cold,customer,4\n",
        "BTC,crypto,8,10000000\nJPY,fiat,0,1\n",
        financials='own_funds: "100000000"',
    )
    (tmp_path / "incident.yaml").write_text(
        "id: t\ndetected_at: 2026-05-31T13:26:00+09:00\nkind: cold_wallet_hack\n"
        "outflows:\n  - {wallet: btc-cold, asset: BTC, amount: '2'}\n"
    )
    runner = CliRunner()
    args = [
        "incident",
        str(root),
        "--incident",
        str(tmp_path / "incident.yaml"),
        "--out",
        str(tmp_path / "o"),
        "--ledger",
        str(tmp_path / "l.sqlite"),
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "2 payouts recorded, 0 already there" in first.output
    refused = runner.invoke(app, args)  # the payout plan of the first run is not overwritten silently
    assert refused.exit_code == 2
    assert "exists and is not empty" in refused.output
    second = runner.invoke(app, [*args, "--force"])
    assert "0 payouts recorded, 2 already there" in second.output
    assert (tmp_path / "o" / "payouts.csv").read_text().count("\n") == 3


def test_a_broken_invariant_stops_the_run_and_nothing_is_written(tmp_path, monkeypatch):
    # Issue #16: compensation caught InvariantViolation from the regimes' assessment and returned {}
    # (planted: restoring "except (InputError, InvariantViolation)" makes this pass silently).
    import caspr.assess

    root = tmp_path / "s"
    snapshot(root, "A,BTC,3\n", "btc-cold,BTC,cold,customer,3\n", "BTC,crypto,8,10000000\nJPY,fiat,0,1\n")
    (tmp_path / "incident.yaml").write_text(
        "id: t\ndetected_at: 2026-05-31T13:26:00+09:00\nkind: cold_wallet_hack\n"
        "outflows:\n  - {wallet: btc-cold, asset: BTC, amount: '1'}\n"
    )

    def broken(*args, **kwargs):
        raise InvariantViolation("components-sum-to-total", "planted")

    monkeypatch.setattr(caspr.assess, "assess", broken)
    with pytest.raises(InvariantViolation):
        compensate(load_snapshot(root), load_incident(tmp_path / "incident.yaml"))
    out = tmp_path / "o"
    args = ["incident", str(root), "--incident", str(tmp_path / "incident.yaml"), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert not out.exists()


def incident_at(detected_at, amount="1", policy="cash", wallet="btc-cold"):
    return Incident.model_validate(
        {
            "id": "r",
            "detected_at": detected_at,
            "kind": "cold_wallet_hack",
            "outflows": [{"wallet": wallet, "asset": "BTC", "amount": amount}],
            "compensation": {"policy": policy},
        }
    )


def test_the_loss_value_is_rounded_once_per_asset_and_the_rounding_is_shown(tmp_path):
    # 1 BTC lost over A, B, C (1 BTC each): 33,333,334 / 33,333,333 / 33,333,333 satoshi at ¥10,027,903.6042803.
    # Exact values ¥3,342,634.6016.., ¥3,342,634.5013.., ¥3,342,634.5013..: Σ = ¥10,027,903.6042803.
    # Floored per row (the old rule) they add to ¥10,027,902, a yen short of floor(1 BTC × price) = ¥10,027,903.
    # Rounded once: ¥10,027,903; the floors leave 1 yen, which goes to A (largest remainder, .6016).
    snap = snapshot(
        tmp_path / "s",
        "A,BTC,1\nB,BTC,1\nC,BTC,1\n",
        "btc-cold,BTC,cold,customer,3\n",
        "BTC,crypto,8,10027903.6042803\nJPY,fiat,0,1\n",
        financials='own_funds: "100000000"',
    )
    result = compensate(snap, incident_at("2026-09-30T12:00:00Z"))
    assert result.total_loss == 10_027_903
    got = rows(result)
    assert [got[(a, "BTC")]["loss_value"] for a in "ABC"] == ["3342635", "3342634", "3342634"]
    assert result.to_dict()["loss_rounding"]["assets"]["BTC"] == {
        "exact": "10027903.6042803",
        "rounded": "10027903",
        "rounded_off": "0.6042803",
    }


def test_rows_that_pay_nothing_are_counted_with_their_reason(tmp_path):
    # No reserve, no insurance, no capital: every row's loss is part of the shortfall, nothing is paid.
    snap = snapshot(
        tmp_path / "s",
        "A,BTC,1\nB,BTC,3\n",
        "btc-cold,BTC,cold,customer,4\n",
        "BTC,crypto,8,100\nJPY,fiat,0,1\n",
    )
    summary = compensate(snap, incident_at("2026-09-30T12:00:00Z", amount="2")).to_dict()
    assert summary["payout_rows"] == 2
    assert summary["unpaid_rows"] == [
        {"reason": "no funding left for this row: its loss is part of the customers' shortfall", "rows": 2}
    ]
    haircut = compensate(snap, incident_at("2026-09-30T12:00:00Z", amount="2", policy="haircut")).to_dict()
    assert [r["rows"] for r in haircut["unpaid_rows"]] == [2]
    assert "IOU" in haircut["unpaid_rows"][0]["reason"]


def test_an_incident_months_from_the_snapshot_is_warned_about(tmp_path):
    snap = snapshot(
        tmp_path / "s", "A,BTC,1\n", "btc-cold,BTC,cold,customer,1\n", "BTC,crypto,8,100\nJPY,fiat,0,1\n"
    )
    # the snapshot is as of 2026-09-30; an incident on 2026-05-31 is 122 days before it
    (warning,) = compensate(snap, incident_at("2026-05-31T00:00:00Z")).warnings
    assert "122 days before the snapshot (2026-09-30)" in warning
    assert compensate(snap, incident_at("2026-10-15T00:00:00Z")).warnings == ()


def test_cli_says_which_rows_pay_nothing_and_warns_of_an_old_snapshot(tmp_path):
    root = tmp_path / "s"
    snapshot(root, "A,BTC,1\nB,BTC,3\n", "btc-cold,BTC,cold,customer,4\n", "BTC,crypto,8,100\nJPY,fiat,0,1\n")
    (tmp_path / "incident.yaml").write_text(
        "id: t\ndetected_at: 2026-05-31T13:26:00+09:00\nkind: cold_wallet_hack\n"
        "outflows:\n  - {wallet: btc-cold, asset: BTC, amount: '2'}\ncompensation: {policy: cash}\n"
    )
    args = [
        "incident",
        str(root),
        "--incident",
        str(tmp_path / "incident.yaml"),
        "--ledger",
        str(tmp_path / "l"),
    ]
    result = CliRunner().invoke(app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "0 rows pay something and are the payouts; these pay nothing:" in text
    assert "2 rows: no funding left for this row" in text
    assert "warning: the incident (2026-05-31) is 121 days before the snapshot" in text
    assert "0 payouts recorded" in text
