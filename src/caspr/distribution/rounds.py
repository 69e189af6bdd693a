"""Fiat-valued claims paid over rounds: Mt. Gox, FTX, Celsius (research/distribution.md §1-4, §8).

For each account (exact ``Decimal``; every payment floored to the payout currency's minor
unit, the sub-unit remainder staying with the estate):

1. **Claim value** = Σ fiat balances + Σ crypto balances × ``claim_prices`` (the reference
   date table; the snapshot's prices when the plan gives none).
2. **Convenience class** (claim ≤ cap): paid ``claim × percent`` once, in the first round,
   and out of every later step (FTX $50,000 at 120%; Celsius $5,000).
3. **Base payment** (Mt. Gox ¥200,000): ``min(claim, cap)``, applied to the fiat part of the
   claim first, then to the crypto part; always paid in fiat.
4. **Early lump sum** (Mt. Gox 21%): electing accounts are paid ``percent × (claim − base)``
   in the first round; the rest of their claim is waived.
5. **Rounds**: every other account's cumulative entitlement after round r is
   ``(claim − base) × cumulative_percent_r`` (by class where the round says so); round r
   pays the increase. With no rounds, one final round pays the estate pro rata:
   ``percent = (estate − base − convenience − lump sums) ÷ Σ (claim − base)``, capped at 100%.
6. **Holds and disputes**: held accounts' payments are reserved, not paid; a disputed
   account's reserve is paid in the round that releases it.
7. **Unclaimed**: payments to the listed accounts not collected by the deadline are
   forfeited and shared among the other round accounts, pro rata to their unpaid claims
   (largest remainder, ties by account id), never above what they are still owed.
8. **De minimis**: an account whose whole entitlement is below the threshold is not paid.
9. **Payout form**: fiat, or ``payout_asset`` at ``payout_prices`` (Celsius BTC at the
   distribution reference price), floored to the asset's scale; base payments stay fiat.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from caspr.distribution.allocation import allocate
from caspr.distribution.inkind import hold_reasons
from caspr.distribution.plan import Plan, Round, percent_text
from caspr.engine import Engine, rows_by_asset
from caspr.errors import InputError, Problem
from caspr.invariants import check_cumulative, check_distribution
from caspr.money import AssetKind, canonical, quantize
from caspr.snapshot.loader import Snapshot
from caspr.units import decimal_units

ROUNDS_RULE = (
    "every payment floored to the payout currency's minor unit (the rest stays with the estate); "
    "forfeited amounts shared by largest remainder, ties by account id"
)


@dataclass(frozen=True, slots=True)
class Payment:
    """One payment to one account in one round."""

    account_id: str
    round: str
    date: dt.date | None
    track: str  # convenience | base | early_lump_sum | round | redistribution
    amount: Decimal  # reporting currency
    status: str  # paid | held | forfeited
    payout_asset: str
    payout_amount: Decimal


@dataclass(frozen=True, slots=True)
class Claim:
    """One account's claim, valued in the reporting currency."""

    account_id: str
    fiat: Decimal
    crypto: Decimal

    @property
    def total(self) -> Decimal:
        """Fiat plus crypto value."""
        return self.fiat + self.crypto


@dataclass(frozen=True)
class RoundsResult:
    """Claims, payments, and the estate's account."""

    currency: str
    scale: int
    claims: dict[str, Claim]
    payments: tuple[Payment, ...]
    estate: Decimal
    final_percent: Decimal | None
    notes: tuple[str, ...]

    @functools.cached_property
    def allocations(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Account id → (paid, held), forfeited payments excluded; one pass over the payments."""
        out: dict[str, list[Decimal]] = {}
        for p in self.payments:
            if p.status == "forfeited":
                continue
            slot = out.setdefault(p.account_id, [Decimal(0), Decimal(0)])
            slot[0 if p.status == "paid" else 1] += p.amount
        return {a: (v[0], v[1]) for a, v in out.items()}

    def paid(self, account: str) -> Decimal:
        """What ``account`` is paid (held and forfeited payments excluded)."""
        return self.allocations.get(account, (Decimal(0), Decimal(0)))[0]

    def held(self, account: str) -> Decimal:
        """What is reserved for ``account`` while it is held (KYC, sanctions, dispute)."""
        return self.allocations.get(account, (Decimal(0), Decimal(0)))[1]

    def entitled(self, account: str) -> Decimal:
        """Everything allocated to ``account`` (paid or reserved), less what was forfeited."""
        paid, held = self.allocations.get(account, (Decimal(0), Decimal(0)))
        return paid + held

    def totals(self) -> dict[str, Decimal]:
        """Paid, held and forfeited totals."""
        out = {"paid": Decimal(0), "held": Decimal(0), "forfeited": Decimal(0)}
        for p in self.payments:
            out[p.status] += p.amount
        return out

    def to_dict(self) -> dict[str, Any]:
        """summary.json for fiat mode: paid, held and undistributed apart."""
        totals = self.totals()
        claims = sum((c.total for c in self.claims.values()), Decimal(0))
        allocated = totals["paid"] + totals["held"]
        return {
            "mode": "fiat",
            "currency": self.currency,
            "estate": canonical(self.estate) if self.estate else None,
            "claims": canonical(claims),
            "paid": canonical(totals["paid"]),
            "held": canonical(totals["held"]),
            "undistributed": canonical(self.estate - allocated) if self.estate else None,
            "forfeited": canonical(totals["forfeited"]),
            "recovery_ratio": canonical(round(allocated / claims, 8)) if claims else "1",
            "final_percent": percent_text(self.final_percent) if self.final_percent is not None else None,
            "rounding": ROUNDS_RULE,
            "notes": list(self.notes),
        }


def value_claims(snapshot: Snapshot, engine: Engine, plan: Plan) -> dict[str, Claim]:
    """Each account's claim in the reporting currency at the plan's reference prices (exact).

    Vectorised: every balance times its price as an exact integer at one common scale (the
    finest amount scale plus price decimals), summed per account and kind with NumPy over
    Python integers; no Decimal per balance row (issue #15: fiat mode must be linear at 10M).
    """
    balances = engine.table("balances").to_pyarrow()
    accounts = balances["account_id"].combine_chunks()
    amounts = balances["amount"].combine_chunks()
    rows_of = rows_by_asset(balances["asset"].combine_chunks())
    prices = {
        code: _integer_price(plan.claim_prices.get(code, snapshot.assets[code].price)) for code in rows_of
    }
    common = max((snapshot.assets[c].scale + prices[c][1] for c in rows_of), default=0)
    values = np.zeros(len(amounts), dtype=object)
    fiat = np.zeros(len(amounts), dtype=bool)
    for code, index in rows_of.items():
        asset = snapshot.assets[code]
        numerator, price_scale = prices[code]
        units = decimal_units(amounts.take(pa.array(index)).cast(pa.decimal128(38, asset.scale)))
        factor = numerator * 10 ** (common - asset.scale - price_scale)
        values[index] = np.asarray(units, dtype=object) * factor
        fiat[index] = asset.kind is AssetKind.FIAT
    unique = pc.unique(accounts)
    ordered = unique.take(pc.array_sort_indices(unique))
    ranks = pc.index_in(accounts, value_set=ordered).to_numpy()
    totals = {}
    for kind, mask in (("fiat", fiat), ("crypto", ~fiat)):
        sums = np.zeros(len(ordered), dtype=object)
        sums[:] = 0
        np.add.at(sums, ranks[mask], values[mask])
        totals[kind] = sums.tolist()
    return {
        account: Claim(account, Decimal(f).scaleb(-common), Decimal(c).scaleb(-common))
        for account, f, c in zip(ordered.to_pylist(), totals["fiat"], totals["crypto"], strict=True)
    }


def _integer_price(price: Decimal) -> tuple[int, int]:
    """``price`` as (integer numerator, decimal places): 15000000.5 → (150000005, 1)."""
    _, digits, exponent = price.as_tuple()
    numerator = int("".join(map(str, digits))) if digits else 0
    exponent = int(exponent)
    return (numerator * 10**exponent, 0) if exponent >= 0 else (numerator, -exponent)


class _Ledger:
    """Payments as they are decided, with per-account running totals."""

    def __init__(self, plan: Plan, scale: int, currency: str, holds: dict[str, str]) -> None:
        self.plan, self.scale, self.currency, self.holds = plan, scale, currency, holds
        self.payments: list[Payment] = []
        self.cumulative: dict[str, list[int]] = {}
        self.rows: dict[str, list[int]] = {}
        """Disputed account id → the indices of its payments (a release touches only its own)."""
        self.quantum = Decimal(1).scaleb(-scale)

    def floor(self, value: Decimal) -> Decimal:
        return value.quantize(self.quantum, rounding=ROUND_FLOOR)

    def pay(
        self, account: str, round_: Round | None, track: str, amount: Decimal, in_fiat: bool = False
    ) -> None:
        if amount <= 0:
            return
        amount = self.floor(amount)
        if amount <= 0:
            return
        status = "held" if account in self.holds else "paid"
        asset, units = self.currency, amount
        if self.plan.payout_asset and not in_fiat:
            asset = self.plan.payout_asset
            price = self.plan.payout_prices[asset]
            units = quantize(amount / price, 8, ROUND_FLOOR)
        if account in self.plan.disputed:
            self.rows.setdefault(account, []).append(len(self.payments))
        self.payments.append(
            Payment(
                account,
                round_.id if round_ else "first",
                round_.date if round_ else None,
                track,
                amount,
                status,
                asset,
                units,
            )
        )
        total = self.cumulative.setdefault(account, [0])  # entitlement, paid or reserved
        total.append(total[-1] + int(amount.scaleb(self.scale)))


def _released(p: Payment, round_: Round) -> Payment:
    return Payment(
        p.account_id, round_.id, round_.date, p.track, p.amount, "paid", p.payout_asset, p.payout_amount
    )


def _release(ledger: _Ledger, account: str, round_: Round) -> None:
    """A disputed claim allowed in ``round_``: its reserved payments are paid in that round."""
    ledger.holds.pop(account, None)
    for i in ledger.rows.get(account, ()):
        if ledger.payments[i].status == "held":
            ledger.payments[i] = _released(ledger.payments[i], round_)


def _round_percent(round_: Round, account_class: str) -> Decimal:
    return round_.by_class.get(account_class, round_.cumulative_percent)


def _validate(plan: Plan) -> None:
    problems = []
    for i, (a, b) in enumerate(zip(plan.rounds, plan.rounds[1:], strict=False)):
        if b.cumulative_percent < a.cumulative_percent or b.date < a.date:
            problems.append(
                Problem("plan", None, f"rounds.{i + 1}", "cumulative percent and date must not decrease")
            )
    if plan.payout_asset and plan.payout_asset not in plan.payout_prices:
        problems.append(Problem("plan", None, "payout_prices", f"no payout price for {plan.payout_asset}"))
    if problems:
        raise InputError(problems)


def distribute_rounds(snapshot: Snapshot, plan: Plan, engine: Engine | None = None) -> RoundsResult:
    """Value claims, then pay convenience, base, lump sums and rounds as the plan says."""
    _validate(plan)
    engine = engine or Engine(snapshot)
    currency = snapshot.exchange.reporting_currency.value
    scale = snapshot.assets[currency].scale if currency in snapshot.assets else 2
    claims = value_claims(snapshot, engine, plan)
    holds = hold_reasons(engine, plan)
    ledger = _Ledger(plan, scale, currency, holds)
    notes: list[str] = []
    small = [a for a, c in claims.items() if plan.de_minimis and c.total < plan.de_minimis]
    if small:
        notes.append(f"{len(small)} claims below the de minimis {plan.de_minimis} are not paid")
    convenience = {
        a for a, c in claims.items() if plan.convenience and c.total <= plan.convenience.cap
    } - set(small)
    lump = set(plan.early_lump_sum.accounts if plan.early_lump_sum else ()) - convenience - set(small)
    remaining: dict[str, Decimal] = {}
    for account, claim in claims.items():
        if account in small:
            continue
        if account in convenience and plan.convenience:
            ledger.pay(account, None, "convenience", claim.total * plan.convenience.percent)
            continue
        base = min(claim.total, plan.base_payment.cap) if plan.base_payment else Decimal(0)
        ledger.pay(account, None, "base", base, in_fiat=True)
        rest = claim.total - base
        if account in lump and plan.early_lump_sum:
            ledger.pay(account, None, "early_lump_sum", rest * plan.early_lump_sum.percent)
            continue
        remaining[account] = rest
    final_percent = _pay_rounds(plan, ledger, remaining, notes)
    _forfeit_unclaimed(plan, ledger, remaining, notes)
    for account, history in ledger.cumulative.items():
        check_cumulative(account, history)
    result = RoundsResult(
        currency, scale, claims, tuple(ledger.payments), plan.estate, final_percent, tuple(notes)
    )
    _check_estate(result)
    never_released = {a for a in holds if a not in plan.disputed}
    _check_invariants(result, set(ledger.holds) | never_released)
    return result


def _check_invariants(result: RoundsResult, held_accounts: set[str]) -> None:
    """The distribution invariants over every account, in minor units.

    Issue #15: a plan paid 50× the claims because this path checked nothing without an estate.
    """
    unit = Decimal(1).scaleb(-result.scale)
    accounts = sorted(result.claims)
    claims = [int(quantize(result.claims[a].total, result.scale, ROUND_FLOOR) / unit) for a in accounts]
    paid = [int(result.paid(a) / unit) for a in accounts]
    held = [int(result.held(a) / unit) for a in accounts]
    pool = int(quantize(result.estate, result.scale, ROUND_FLOOR) / unit) if result.estate else None
    undistributed = pool - sum(paid) - sum(held) if pool is not None else 0
    flags = np.array([a in held_accounts for a in accounts], dtype=bool)
    check_distribution(result.currency, pool, claims, paid, held, undistributed, flags)


def _pay_rounds(
    plan: Plan, ledger: _Ledger, remaining: dict[str, Decimal], notes: list[str]
) -> Decimal | None:
    rounds = list(plan.rounds)
    final_percent = None
    if not rounds and plan.estate > 0 and remaining:
        spent = sum((p.amount for p in ledger.payments), Decimal(0))
        owed = sum(remaining.values(), Decimal(0))
        final_percent = min(Decimal(1), max(Decimal(0), (plan.estate - spent) / owed)) if owed else Decimal(1)
        final_percent = quantize(final_percent, 10, ROUND_FLOOR)
        rounds = [
            Round.model_construct(
                id="final",
                date=plan.record_date or dt.date.max,
                cumulative_percent=final_percent,
            )
        ]
        notes.append(f"one final round at {canonical(final_percent)} of the claims left after base payments")
    released: set[str] = set()
    paid: dict[str, Decimal] = dict.fromkeys(remaining, Decimal(0))
    for round_ in rounds:
        released |= set(round_.release_disputed)
        for account, rest in remaining.items():
            if account in plan.disputed and account not in released:
                ledger.holds.setdefault(account, f"disputed: {plan.disputed[account]}")
            elif account in plan.disputed and account in ledger.holds:
                _release(ledger, account, round_)
            target = ledger.floor(rest * _round_percent(round_, plan.classes.get(account, "general")))
            step = target - paid[account]
            if step > 0:
                ledger.pay(account, round_, "round", step)
                paid[account] = target
    return final_percent


def _forfeit_unclaimed(plan: Plan, ledger: _Ledger, remaining: dict[str, Decimal], notes: list[str]) -> None:
    if plan.unclaimed is None or not plan.unclaimed.accounts:
        return
    gone = set(plan.unclaimed.accounts)
    forfeited = Decimal(0)
    kept = []
    for p in ledger.payments:
        if p.account_id in gone and p.status == "paid" and p.track != "base":
            kept.append(
                Payment(
                    p.account_id,
                    p.round,
                    p.date,
                    p.track,
                    p.amount,
                    "forfeited",
                    p.payout_asset,
                    p.payout_amount,
                )
            )
            forfeited += p.amount
        else:
            kept.append(p)
    ledger.payments = kept
    others = sorted(a for a in remaining if a not in gone)
    paid_in_rounds: dict[str, Decimal] = {}
    for p in kept:  # one pass (issue #15: a scan per account made fiat mode quadratic)
        if p.track == "round":
            paid_in_rounds[p.account_id] = paid_in_rounds.get(p.account_id, Decimal(0)) + p.amount
    owed = {a: remaining[a] - paid_in_rounds.get(a, Decimal(0)) for a in others}
    unit = Decimal(1).scaleb(-ledger.scale)
    weights = [int(max(owed[a], Decimal(0)) / unit) for a in others]
    shares = allocate(int(forfeited / unit), weights, np.arange(len(others))).shares
    deadline = Round.model_construct(
        id="redistribution", date=plan.unclaimed.deadline, cumulative_percent=Decimal(1)
    )
    for account, share in zip(others, shares, strict=True):
        if share:
            ledger.pay(account, deadline, "redistribution", share * unit)
    notes.append(
        f"{canonical(forfeited)} {ledger.currency} unclaimed by {plan.unclaimed.deadline} forfeited "
        f"and shared among {sum(1 for s in shares if s)} accounts"
    )


def _check_estate(result: RoundsResult) -> None:
    totals = result.totals()
    distributed = totals["paid"] + totals["held"]
    if result.estate and distributed > result.estate:
        raise InputError(
            [
                Problem(
                    "plan",
                    None,
                    "estate",
                    f"the plan pays {canonical(distributed)} but the estate is {canonical(result.estate)}",
                )
            ]
        )
