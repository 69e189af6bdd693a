"""Hypothesis over distribution plans: every mode, percentages at 0%, 100% and out of range,
holds, disputes, de minimis, unclaimed, convenience, base payments, lump sums and estates.

Whatever the plan, either it is refused as bad input, or the run keeps the invariants, checked
here from the written outputs and the snapshot, not from caspr's own checks:

* no account above its claim (paid + held ≤ claim);
* holds unpaid (a held account is paid nothing);
* Σ paid + Σ held + undistributed = pool (per asset in kind; the estate in fiat mode).
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from caspr.distribution.inkind import distribute_in_kind
from caspr.distribution.plan import Plan
from caspr.distribution.rounds import distribute_rounds
from caspr.errors import InputError
from caspr.snapshot.loader import load_snapshot
from tests.distribution.helpers import snapshot

PRICES = {"BTC": Decimal("15000000.5"), "ETH": Decimal("412345.67"), "JPY": Decimal(1)}
SCALES = {"BTC": 8, "ETH": 18, "JPY": 0}
ASSETS = "asset,kind,scale,price\n" + "".join(
    f"{a},{'fiat' if a == 'JPY' else 'crypto'},{SCALES[a]},{PRICES[a]}\n" for a in PRICES
)
ACCOUNTS = [f"U{i}" for i in range(6)]

amounts = {
    "BTC": st.integers(0, 10**12).map(lambda u: Decimal(u).scaleb(-8)),
    "ETH": st.sampled_from([0, 1, 10**18 - 1, 123456789012345678901234]).map(lambda u: Decimal(u).scaleb(-18))
    | st.integers(0, 10**24).map(lambda u: Decimal(u).scaleb(-18)),
    "JPY": st.integers(0, 10**9).map(Decimal),
}
percent = st.sampled_from(["0%", "100%", "50%", "4.5%", "99.9999%"]) | st.decimals(
    0, 100, places=3, allow_nan=False
).map(lambda d: f"{d}%")
bad_percent = st.sampled_from(["100.001%", "-1%", "150%", "50", "0.72", "5000%"])


@st.composite
def exchanges(draw):
    """Balances, wallets (pools short, exact or in surplus), KYC states."""
    rows, pools = [], {}
    for asset in PRICES:
        total = Decimal(0)
        for account in ACCOUNTS:
            if draw(st.booleans()):
                amount = draw(amounts[asset])
                rows.append(f"{account},{asset},{amount:f}\n")
                total += amount
        ratio = draw(st.sampled_from([Decimal(0), Decimal("0.3"), Decimal("0.999"), Decimal(1), Decimal(2)]))
        pools[asset] = (total * ratio).quantize(Decimal(1).scaleb(-SCALES[asset]), rounding=ROUND_FLOOR)
    kyc = {a: draw(st.sampled_from(["verified", "verified", "pending", "failed"])) for a in ACCOUNTS}
    return rows, pools, kyc


@st.composite
def plans(draw, mode):  # noqa: PLR0912 - one branch per optional plan field
    """A plan of ``mode``; with ``bad`` one percentage is out of range or without its sign."""
    bad = draw(st.booleans()) and mode == "fiat" and draw(st.booleans())
    subset = st.lists(st.sampled_from(ACCOUNTS), unique=True, max_size=3)
    plan: dict = {
        "mode": mode,
        "holds": {"accounts": dict.fromkeys(draw(subset), "sanctions")},
        "de_minimis": str(draw(st.sampled_from([0, 0, 1, 5000, 10**7]))),
    }
    if draw(st.booleans()):
        plan["disputed"] = dict.fromkeys(draw(subset), "unreconciled")
    if mode == "in_kind":
        plan["include_guarantee"] = draw(st.booleans())
        plan["rounding"] = draw(st.sampled_from(["largest_remainder", "floor"]))
        return plan, False
    cumulative = sorted(draw(st.lists(percent, min_size=0, max_size=3)), key=lambda p: Decimal(p[:-1]))
    rounds = [
        {"id": f"R{i}", "date": f"2027-0{i + 1}-01", "cumulative_percent": p}
        for i, p in enumerate(cumulative)
    ]
    if rounds and plan.get("disputed") and draw(st.booleans()):
        rounds[-1]["release_disputed"] = list(plan["disputed"])
    if rounds and draw(st.booleans()):
        rounds[-1]["by_class"] = {"priority": draw(percent)}
        plan["classes"] = dict.fromkeys(draw(subset), "priority")
    plan["rounds"] = rounds
    if draw(st.booleans()):
        plan["convenience"] = {"cap": str(draw(st.integers(1, 10**8))), "percent": draw(percent)}
    if draw(st.booleans()):
        plan["base_payment"] = {"cap": str(draw(st.integers(1, 10**7)))}
    if draw(st.booleans()):
        plan["early_lump_sum"] = {"percent": draw(percent), "accounts": draw(subset)}
    if draw(st.booleans()):
        plan["estate"] = str(draw(st.integers(0, 10**16)))
    if draw(st.booleans()):
        plan["unclaimed"] = {"deadline": "2028-01-01", "accounts": draw(subset)}
    if bad:
        where = draw(st.sampled_from(["round", "convenience", "lump"]))
        if where == "round" or not rounds:
            plan["rounds"] = [
                *rounds,
                {"id": "Rx", "date": "2029-01-01", "cumulative_percent": draw(bad_percent)},
            ]
        elif where == "convenience":
            plan["convenience"] = {"cap": "1000", "percent": draw(bad_percent)}
        else:
            plan["early_lump_sum"] = {"percent": draw(bad_percent), "accounts": []}
    return plan, bad


def claims_value(balances: list[str]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for line in balances:
        account, asset, amount = line.strip().split(",")
        out[account] = out.get(account, Decimal(0)) + Decimal(amount) * PRICES[asset]
    return out


def held_accounts(plan: dict, kyc: dict[str, str], released: bool) -> set[str]:
    held = {a for a, k in kyc.items() if k in ("pending", "failed")} | set(plan["holds"]["accounts"])
    if not released:
        held |= set(plan.get("disputed", {}))
    return held


@given(exchanges(), plans("in_kind"))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_in_kind_plans_keep_the_invariants(tmp_path_factory, exchange, drawn):
    balances, pools, kyc = exchange
    plan_dict, _ = drawn
    wallets = "".join(f"w{a},{a},cold,customer,{p:f}\n" for a, p in pools.items())
    root = snapshot(
        tmp_path_factory.mktemp("p"),
        "".join(balances),
        wallets,
        assets=ASSETS,
        accounts="".join(f"{a},{k},active\n" for a, k in kyc.items()),
    )
    result = distribute_in_kind(load_snapshot(root), Plan.model_validate(plan_dict))
    held = held_accounts(plan_dict, kyc, released=False)
    rows = result.rows.to_pylist()
    for row in rows:
        claim, paid, reserved = (
            Decimal(row[k]) for k in ("claim_amount", "distributed_amount", "held_amount")
        )
        assert paid >= 0
        assert reserved >= 0
        assert paid + reserved <= claim  # never above the claim
        if row["account_id"] in held:
            assert paid == 0  # holds unpaid
        else:
            assert reserved == 0
    for summary in result.summaries:
        unit = Decimal(1).scaleb(-SCALES[summary.asset])
        paid = sum(Decimal(r["distributed_amount"]) for r in rows if r["asset"] == summary.asset)
        reserved = sum(Decimal(r["held_amount"]) for r in rows if r["asset"] == summary.asset)
        assert Decimal(summary.pool) * unit == pools[summary.asset]  # the pool is the customer wallets
        assert paid + reserved + summary.undistributed * unit == pools[summary.asset]  # Σ = pool


@given(exchanges(), plans("fiat"))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fiat_plans_keep_the_invariants_or_are_refused(tmp_path_factory, exchange, drawn):
    balances, _, kyc = exchange
    plan_dict, bad = drawn
    if bad:  # a percentage out of 0-100% or without its sign: refused, nothing run
        with pytest.raises(ValidationError, match="percent"):
            Plan.model_validate(plan_dict)
        return
    plan = Plan.model_validate(plan_dict)
    root = snapshot(
        tmp_path_factory.mktemp("p"),
        "".join(balances),
        "wBTC,BTC,cold,customer,0\n",
        assets=ASSETS,
        accounts="".join(f"{a},{k},active\n" for a, k in kyc.items()),
    )
    try:
        result = distribute_rounds(load_snapshot(root), plan)
    except InputError as error:  # a plan whose rounds pay more than its estate is bad input
        problems = [p.column for p in error.problems]
        assert problems == ["estate"]
        return
    released = any(r.get("release_disputed") for r in plan_dict["rounds"])
    held = held_accounts(plan_dict, kyc, released)
    value = claims_value(balances)
    for account, claim in value.items():
        paid, reserved = result.paid(account), result.held(account)
        assert paid >= 0
        assert reserved >= 0
        assert paid + reserved <= claim  # no account above its claim
        if account in held and account not in plan.disputed:
            assert paid == 0  # KYC and named holds are never paid
    summary = result.to_dict()
    if plan.estate:
        undistributed = Decimal(summary["undistributed"])
        assert undistributed >= 0
        assert Decimal(summary["paid"]) + Decimal(summary["held"]) + undistributed == plan.estate
